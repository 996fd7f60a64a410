module github.com/landfall/landfall

go 1.26
