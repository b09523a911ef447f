// Package assets holds what every dadash HTML page inlines: the ECharts
// library, dadash's small page runtime (runtime.js) and its style sheet.
//
// echarts.min.js is not committed: `make` runs fetch-echarts.sh, which takes
// it from the echarts npm package into this folder before the Go build. A
// build without it still works; pages then load ECharts from a CDN (see
// EChartsCDN) and need the network.
package assets

import (
	"bytes"
	"embed"
	"sync"
)

// The *.js pattern always matches runtime.js, so the build does not depend
// on the fetched file being there.
//
//go:embed *.js *.css
var files embed.FS

// EChartsVersion is the version fetch-echarts.sh downloads and EChartsCDN
// points at; keep the two in step.
const EChartsVersion = "5.6.0"

// EChartsCDN is the fallback when the library was not embedded.
const EChartsCDN = "https://cdn.jsdelivr.net/npm/echarts@" + EChartsVersion + "/dist/echarts.min.js"

// ECharts returns the minified ECharts library, or nil when the build did
// not embed it (or embedded something that cannot be inlined safely).
func ECharts() []byte {
	echartsOnce.Do(func() {
		b, err := files.ReadFile("echarts.min.js")
		// Inside <script>, the text "</script" would end the element early.
		if err == nil && len(b) > 0 && !bytes.Contains(bytes.ToLower(b), []byte("</script")) {
			echarts = b
		}
	})
	return echarts
}

var (
	echartsOnce sync.Once
	echarts     []byte
)

// Runtime is dadash's page script: chart set-up, tooltips, the embedding
// view and the error collector.
func Runtime() []byte { return must("runtime.js") }

// Style is the page's style sheet.
func Style() []byte { return must("style.css") }

func must(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("assets: " + name + " is missing from the build: " + err.Error())
	}
	return b
}
