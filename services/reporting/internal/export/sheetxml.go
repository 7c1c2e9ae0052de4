package export

import (
	"encoding/xml"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

// rowEncoder appends sheet rows as the XML excelize's StreamWriter.SetRow
// writes for the same values: inline strings, numbers and booleans, no
// styles. excelize spends about a microsecond a cell (a cell struct, a
// regexp over every string, a string concatenation or two); this costs what
// CSV costs, and a test holds it byte for byte to excelize's output for
// random rows, excelize's quirks included (xml:space, "_xHHHH_" escapes, 15
// significant digits, the cell length limit).
type rowEncoder struct {
	cols [][]byte // cols[i] is column i+1's letters
	tmp  []byte
}

// appendRow appends row number r with cells from column A.
func (e *rowEncoder) appendRow(dst []byte, r int, cells []any) []byte {
	dst = append(dst, `<row r="`...)
	dst = strconv.AppendInt(dst, int64(r), 10)
	dst = append(dst, `">`...)
	for i, v := range cells {
		if v == nil {
			continue
		}
		dst = append(dst, `<c r="`...)
		dst = append(dst, e.col(i)...)
		dst = strconv.AppendInt(dst, int64(r), 10)
		dst = append(dst, '"')
		dst = e.appendValue(dst, v)
		dst = append(dst, `</c>`...)
	}
	return append(dst, `</row>`...)
}

func (e *rowEncoder) col(i int) []byte {
	for len(e.cols) <= i {
		name, _ := excelize.ColumnNumberToName(len(e.cols) + 1) // valid below 16,385 columns
		e.cols = append(e.cols, []byte(name))
	}
	return e.cols[i]
}

// appendValue appends the rest of a cell's start tag and its value.
func (e *rowEncoder) appendValue(dst []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return e.appendString(dst, v)
	case int64:
		return append(strconv.AppendInt(append(dst, `><v>`...), v, 10), `</v>`...)
	case int:
		return append(strconv.AppendInt(append(dst, `><v>`...), int64(v), 10), `</v>`...)
	case uint64:
		return append(strconv.AppendUint(append(dst, `><v>`...), v, 10), `</v>`...)
	case bool:
		if v {
			return append(dst, ` t="b"><v>1</v>`...)
		}
		return append(dst, ` t="b"><v>0</v>`...)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return e.appendString(dst, fmt.Sprint(v))
		}
		return append(append(append(dst, `><v>`...), formatCellFloat(v)...), `</v>`...)
	default:
		return e.appendString(dst, fmt.Sprint(v))
	}
}

// appendString appends an inline string cell's type and value, as
// excelize's setInlineStr and trimCellValue make them.
func (e *rowEncoder) appendString(dst []byte, s string) []byte {
	if len(s) > excelize.TotalCellChars {
		s = truncateUTF16(s, excelize.TotalCellChars)
	}
	dst = append(dst, ` t="inlineStr"><is><t`...)
	if s != "" && (isXMLSpace(s[0]) || isXMLSpace(s[len(s)-1])) {
		dst = append(dst, ` xml:space="preserve"`...)
	}
	dst = append(dst, '>')
	switch {
	case plain(s):
		dst = append(dst, s...)
	default:
		e.tmp = escapeText(e.tmp[:0], s)
		if strings.Contains(string(e.tmp), "_x") { // the conversion is only compared: no copy
			dst = append(dst, bstrMarshal(string(e.tmp))...)
		} else {
			dst = append(dst, e.tmp...)
		}
	}
	return append(dst, `</t></is>`...)
}

func isXMLSpace(b byte) bool { return b == '\t' || b == '\n' || b == '\r' || b == ' ' }

// plain says whether s is printable ASCII that needs no escaping: most
// values of an export.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' {
			return false
		}
		if c == '_' && i+1 < len(s) && s[i+1] == 'x' {
			return false
		}
	}
	return true
}

// escapeText appends s escaped as encoding/xml's EscapeText escapes it,
// except that a newline stays a newline (excelize undoes that escape).
func escapeText(dst []byte, s string) []byte {
	_ = xml.EscapeText(appendWriter{&dst}, []byte(s)) // an appendWriter takes everything
	if strings.IndexByte(s, '\n') >= 0 {
		dst = []byte(strings.ReplaceAll(string(dst), "&#xA;", "\n"))
	}
	return dst
}

type appendWriter struct{ b *[]byte }

func (w appendWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

// truncateUTF16 cuts s to at most n UTF-16 code units, the way Excel counts
// a cell's characters.
func truncateUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		if units += utf16.RuneLen(r); units > n {
			return s[:i]
		}
	}
	return s
}

// The rest is excelize's own (BSD 3-Clause, github.com/xuri/excelize/v2
// v2.11.1 cell.go and lib.go), unexported there.

var (
	bstrExp       = regexp.MustCompile(`_x[a-fA-F\d]{4}_`)
	bstrEscapeExp = regexp.MustCompile(`x[a-fA-F\d]{4}_`)
)

// bstrMarshal escapes the "_xHHHH_" sequences of s, which a reader would
// take for an escaped character, as "_x005F_xHHHH_".
func bstrMarshal(s string) (result string) {
	matches, l, cursor := bstrExp.FindAllStringSubmatchIndex(s, -1), len(s), 0
	for _, match := range matches {
		result += s[cursor:match[0]]
		subStr := s[match[0]:match[1]]
		if subStr == "_x005F_" {
			cursor = match[1]
			if match[1]+6 <= l && bstrEscapeExp.MatchString(s[match[1]:match[1]+6]) {
				_, err := strconv.Unquote(`"\u` + s[match[1]+1:match[1]+5] + `"`)
				if err == nil {
					result += subStr + "x005F" + subStr
					continue
				}
			}
			result += subStr + "x005F_"
			continue
		}
		if bstrExp.MatchString(subStr) {
			cursor = match[1]
			if _, err := strconv.Unquote(`"\u` + s[match[0]+2:match[1]-1] + `"`); err == nil {
				result += "_x005F" + subStr
				continue
			}
		}
	}
	if cursor < l {
		result += s[cursor:]
	}
	return result
}

// formatCellFloat is value in decimal with at most Excel's 15 significant
// digits.
func formatCellFloat(value float64) string {
	str := strconv.FormatFloat(value, 'f', -1, 64)
	if math.Abs(value) == math.MaxFloat64 {
		return str
	}
	const maxPrec = 15
	decimal := strings.IndexByte(str, '.')
	significant := 0
	for idx := range str {
		if str[idx] < '0' || str[idx] > '9' || significant == 0 && str[idx] == '0' {
			continue
		}
		significant++
		if significant <= maxPrec {
			continue
		}
		if decimal >= 0 && idx > decimal {
			return strings.TrimSuffix(str[:idx], ".")
		}
		if decimal < 0 {
			decimal = len(str)
		}
		truncated := []byte(str[:decimal])
		for ; idx < len(truncated); idx++ {
			truncated[idx] = '0'
		}
		return string(truncated)
	}
	return str
}
