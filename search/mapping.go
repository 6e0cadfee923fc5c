package search

import (
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
)

// Field names of the index document. The query compiler (search/query)
// and the mapping below must agree on them. No field is stored.
const (
	FieldFrom          = "from"           // text: display names and addresses
	FieldFromAddr      = "from_addr"      // lower-cased addresses, exact
	FieldTo            = "to"             // text
	FieldToAddr        = "to_addr"        // exact
	FieldCc            = "cc"             // text
	FieldCcAddr        = "cc_addr"        // exact
	FieldBcc           = "bcc"            // text
	FieldBccAddr       = "bcc_addr"       // exact
	FieldSubject       = "subject"        // text
	FieldBody          = "body"           // text
	FieldFilename      = "filename"       // text: attachment file names
	FieldAttachType    = "attach_type"    // exact, lower-cased MIME types of attachments
	FieldDate          = "date"           // exact: coarse levels of the Date header, else the earliest internal date (keys.go)
	FieldDateKey       = "date_key"       // exact, one sortable term per message: the date, then the ID (DateKey)
	FieldSize          = "size"           // exact: levels of the size in bytes (keys.go)
	FieldMessageID     = "message_id"     // exact, without <>
	FieldFolder        = "folder"         // exact: folder names (without account), one value per folder
	FieldAccountFolder = "account_folder" // exact: "account/folder"
	FieldAccount       = "account"        // exact
	FieldFlags         = "flags"          // exact: IMAP flags and keywords of any copy
	FieldHasAttachment = "has_attachment" // boolean
)

// TextFields are what bare words and phrases search.
var TextFields = []string{FieldSubject, FieldFrom, FieldTo, FieldCc, FieldBody, FieldFilename}

const (
	// TextAnalyzer is Bleve's cjk analyzer (unicode words, width fold,
	// lower case, CJK bigrams; no stemming) plus capPositions. It also
	// analyses query words for the filename field, whose own analyzer adds
	// the parts of each name.
	TextAnalyzer     = "mailark_text"
	filenameAnalyzer = "mailark_filename" // TextAnalyzer plus filenameParts
	keywordAnalyzer  = "mailark_lower_keyword"
	docType          = "message"
)

// NewMapping returns the index mapping: one static document type, so that
// nothing unexpected is ever indexed.
func NewMapping() (mapping.IndexMapping, error) {
	im := bleve.NewIndexMapping()
	textFilters := []string{cjk.WidthName, lowercase.Name, cjk.BigramName, capFilterName}
	if err := im.AddCustomAnalyzer(TextAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": textFilters,
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(filenameAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": append(textFilters, partsFilterName),
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(keywordAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     single.Name,
		"token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, err
	}
	// Nothing is stored: searches return IDs only, and the catalog has
	// what results show.
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = TextAnalyzer
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	exact := func(lower bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		if lower {
			f.Analyzer = keywordAnalyzer
		}
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.Store = false
		f.DocValues = false
		return f
	}
	dm := bleve.NewDocumentStaticMapping()
	add := func(name string, f *mapping.FieldMapping) { dm.AddFieldMappingsAt(name, f) }
	add(FieldFrom, text())
	add(FieldTo, text())
	add(FieldCc, text())
	add(FieldBcc, text())
	add(FieldSubject, text())
	add(FieldBody, text())
	filename := text()
	filename.Analyzer = filenameAnalyzer
	add(FieldFilename, filename)
	for _, n := range []string{FieldFromAddr, FieldToAddr, FieldCcAddr, FieldBccAddr, FieldAttachType} {
		add(n, exact(true))
	}
	for _, n := range []string{FieldMessageID, FieldFolder, FieldAccountFolder, FieldAccount, FieldFlags} {
		add(n, exact(false))
	}
	// Dates and sizes are keyword terms of keys.go. Sorting by date reads
	// the doc values of every hit, decompressing them chunk by chunk: one
	// short date_key per message keeps that cheap and also breaks ties.
	add(FieldDate, exact(false))
	add(FieldSize, exact(false))
	dateKey := exact(false)
	dateKey.DocValues = true
	add(FieldDateKey, dateKey)
	b := bleve.NewBooleanFieldMapping()
	b.IncludeInAll = false
	b.Store = false
	b.DocValues = false
	add(FieldHasAttachment, b)

	// Every document has _type docType. A disabled default mapping keeps
	// the stored mapping to one copy of the fields: every search parses it
	// when it opens the index.
	im.AddDocumentMapping(docType, dm)
	im.DefaultMapping = bleve.NewDocumentDisabledMapping()
	im.DefaultAnalyzer = TextAnalyzer
	im.TypeField = "_type"
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im, nil
}
