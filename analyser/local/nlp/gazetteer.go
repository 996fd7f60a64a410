package nlp

// Gazetteers for offline entity recognition. Speech recognisers without
// case or punctuation leave nothing else to go on, so names are found by
// lookup: a known given name followed by a surname-like word is a person; a
// known place or organisation (or a word followed by an organisation suffix)
// is one. Cased text (OCR, providers that punctuate) also yields
// capitalised sequences.

var givenNames = toSet(`aaron abigail adam adrian ahmed aisha alan albert alex alexander alexandra alice alicia ali
amanda amelia amir amy ana andrea andrew angela anna anne anthony antonio arthur ashley barbara ben benjamin beth
betty bill bob brandon brian bruce camila carl carla carlos carmen carol caroline catherine charles charlotte chen chris
christina christine christopher claire daniel david deborah dennis diana diego dmitri donald donna dorothy douglas
dylan edward elena elizabeth ella emily emma eric ethan eva evelyn fatima felix fernando frances francesca frank
gabriel gary george grace greg hannah harold harry heather helen henry hiroshi hugo ian irene isaac isabel isabella
jack jacob james jamie jane janet jason javier jean jennifer jeremy jerry jessica jim joan joe john jonathan jorge
jose joseph joshua juan judith julia julie justin karen karl kate katherine kathleen keith kelly kenji kenneth kevin
kim kyle laura lauren lawrence leo liam linda lisa lucas lucy luis luke maria marie mark martin mary matthew maya
megan melissa michael michelle miguel mike mohammed mohammad nancy natalie nathan nicholas nicole noah olivia omar
oscar pablo pamela patricia patrick paul peter philip priya rachel rahul raj ralph raymond rebecca richard robert
roger ronald rosa ruth ryan samuel sandra sara sarah scott sean sharon sofia sophia sophie stephanie stephen steven
susan thomas timothy tom tyler victor victoria vincent walter wei william yuki zoe`)

var places = toSet(`afghanistan albania algeria argentina armenia australia austria azerbaijan bangladesh belgium
bolivia brazil bulgaria cambodia cameroon canada chile china colombia croatia cuba cyprus czechia denmark ecuador egypt
estonia ethiopia finland france georgia germany ghana greece guatemala hungary iceland india indonesia iran iraq
ireland israel italy jamaica japan jordan kazakhstan kenya korea kuwait latvia lebanon libya lithuania luxembourg
madagascar malaysia mali malta mexico moldova mongolia morocco mozambique myanmar nepal netherlands nigeria norway
pakistan panama paraguay peru philippines poland portugal qatar romania russia rwanda scotland senegal serbia
singapore slovakia slovenia somalia spain sudan sweden switzerland syria taiwan tanzania thailand tunisia turkey
uganda ukraine uruguay uzbekistan venezuela vietnam wales yemen zambia zimbabwe england britain
africa antarctica asia europe america oceania arctic atlantic pacific
alabama alaska arizona arkansas california colorado connecticut delaware florida hawaii idaho illinois indiana iowa
kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi missouri montana nebraska nevada
ohio oklahoma oregon pennsylvania tennessee texas utah vermont virginia washington wisconsin wyoming
amsterdam athens atlanta auckland austin baghdad bangkok barcelona beijing berlin bogota boston brisbane brussels
bucharest budapest cairo calgary cambridge chicago copenhagen dallas delhi denver detroit dhaka dubai dublin
edinburgh frankfurt geneva glasgow hamburg hanoi havana helsinki houston istanbul jakarta jerusalem johannesburg kyiv
kiev lagos lima lisbon london madrid manchester manila marseille melbourne miami milan montreal moscow mumbai munich
nairobi naples oakland osaka oslo ottawa oxford paris perth philadelphia phoenix portland prague reykjavik riga rome
santiago seattle seoul shanghai singapore stockholm sydney taipei tehran tokyo toronto vancouver venice vienna warsaw
wellington zurich lyon seville porto kyoto`)

// multiWordPlaces are places of two or more words, lower-case.
var multiWordPlaces = []string{"new york", "new zealand", "united states", "united kingdom", "south africa",
	"south korea", "north korea", "saudi arabia", "hong kong", "los angeles", "san francisco", "san diego",
	"las vegas", "new orleans", "rio de janeiro", "sao paulo", "buenos aires", "mexico city", "cape town",
	"north america", "south america", "latin america", "middle east", "new delhi", "kuala lumpur", "tel aviv",
	"costa rica", "puerto rico", "sri lanka", "new jersey", "new mexico", "north carolina", "south carolina",
	"west virginia", "rhode island", "silicon valley", "united arab emirates", "czech republic"}

var organisations = toSet(`google alphabet microsoft apple amazon meta facebook netflix ibm intel nvidia oracle
samsung sony toyota siemens tesla spotify uber airbnb twitter linkedin youtube adobe salesforce cisco huawei
tencent alibaba baidu openai anthropic mozilla wikipedia reuters bbc cnn nasa esa unesco unicef nato who fifa
interpol europol fbi cia nsa mit harvard stanford princeton yale oxford cambridge caltech berkeley ucla
redhat canonical debian github gitlab docker kubernetes cloudflare shopify paypal visa mastercard boeing airbus
pfizer moderna unilever nestle ikea volkswagen bmw mercedes ford honda nissan walmart starbucks mcdonalds
greenpeace amnesty landfall`)

// multiWordOrganisations are organisations of two or more words.
var multiWordOrganisations = []string{"united nations", "world health organization", "world bank",
	"european union", "european commission", "red cross", "amazon web services", "new york times",
	"washington post", "wall street journal", "associated press", "bank of england", "federal reserve",
	"world trade organization", "international monetary fund", "linux foundation", "apache software foundation",
	"mozilla foundation", "open university", "royal society", "national geographic", "the guardian",
	"financial times", "general electric", "goldman sachs", "morgan stanley", "deutsche bank"}

// orgSuffixes mark the word(s) before them as an organisation
// ("Northwind Labs", "Acme Corporation").
var orgSuffixes = toSet(`inc incorporated corp corporation company co ltd limited llc plc gmbh ag labs laboratories
institute university college school academy foundation agency association society council ministry department
bank group holdings partners systems technologies industries studios media network networks press museum
hospital clinic committee commission federation union`)

// orgPrefixes mark the words after them as an organisation ("University of
// Lisbon").
var orgPrefixes = []string{"university of", "institute of", "bank of", "ministry of", "department of", "museum of",
	"college of", "school of", "academy of"}

// titles precede a person's name ("Doctor Chen", "Professor Okafor").
var titles = toSet(`mr mrs ms miss dr doctor prof professor sir dame madam president senator governor mayor
minister chancellor captain general judge reverend father sister`)
