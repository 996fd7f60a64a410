// Package allblob registers every blob driver (file, s3, mem) with
// blob.OpenBucket. Import it for its side effect:
//
//	import _ "github.com/landfall/landfall/blob/allblob"
package allblob

import (
	_ "github.com/landfall/landfall/blob/fileblob" // file://
	_ "github.com/landfall/landfall/blob/memblob"  // mem://
	_ "github.com/landfall/landfall/blob/s3blob"   // s3://
)
