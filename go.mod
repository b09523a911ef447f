module github.com/dadash/dadash

go 1.26.8

require (
	github.com/DataIntelligenceCrew/go-faiss v0.2.0 // indirect
	github.com/chzyer/readline v1.5.1 // indirect
	github.com/go-echarts/go-echarts/v2 v2.6.7 // indirect
	github.com/wangkuiyi/gotorch v0.0.0-20201028015551-9afed2f3ad7b // indirect
	go.starlark.net v0.0.0-20260908191801-89a6a09411d5 // indirect
	golang.org/x/image v0.44.0 // indirect
	golang.org/x/net v0.52.0 // indirect
	golang.org/x/sys v0.42.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)
