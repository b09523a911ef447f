package page

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/dadash/dadash/lang"
)

// Pages are self-contained, so every image goes in as a data URI.

// DataURI returns src as a data URI: a data:image/ URI is returned as it
// is, anything else is read as an image file.
func DataURI(src string) (string, error) {
	if strings.HasPrefix(src, "data:") {
		if !strings.HasPrefix(src, "data:image/") || !strings.Contains(src, ",") {
			return "", fmt.Errorf("%.40q is not an image data URI (want data:image/png;base64,...)", src)
		}
		return src, nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("image: %w", err)
	}
	uri, err := BytesURI(b, filepath.Ext(src))
	if err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	return uri, nil
}

// BytesURI makes a data URI of an encoded image (PNG, JPEG, GIF, WebP, BMP,
// or SVG when ext is ".svg").
func BytesURI(b []byte, ext string) (string, error) {
	mime := http.DetectContentType(b)
	if strings.EqualFold(ext, ".svg") {
		mime = "image/svg+xml" // safe in <img>: browsers run no scripts there
	}
	if !strings.HasPrefix(mime, "image/") {
		return "", fmt.Errorf("not an image (the content looks like %s); give a PNG, JPEG, GIF, WebP or SVG file", mime)
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b), nil
}

// ArrayPNG encodes one image given as numbers, as a PNG data URI. shape is
// (H, W), (C, H, W) with C = 1 or 3 (PyTorch's layout, e.g. a dataset image
// tensor; preferred when the shape fits both), or (H, W, C) with C = 1, 3
// or 4. Values in [0, 1] are scaled by 255,
// values in [0, 255] are taken as they are, anything else (a normalised
// image) is stretched from its minimum to its maximum.
func ArrayPNG(data []float64, shape []int64) (string, error) {
	h, w, c, chw, err := imageLayout(shape)
	if err != nil {
		return "", err
	}
	if int64(len(data)) != h*w*c {
		return "", fmt.Errorf("image data has %d values, shape %s needs %d", len(data), lang.Size(shape), h*w*c)
	}
	return pngURI(data, int(h), int(w), int(c), chw)
}

// BatchPNG encodes a batch of images, shape (N, H, W), (N, C, H, W) or
// (N, H, W, C), as one data URI each.
func BatchPNG(data []float64, shape []int64) ([]string, error) {
	if len(shape) != 3 && len(shape) != 4 {
		return nil, fmt.Errorf("a batch of images has shape (N, H, W), (N, C, H, W) or (N, H, W, C), got %s", lang.Size(shape))
	}
	n := shape[0]
	inner := shape[1:]
	if len(inner) == 3 && !isChannels(inner[0]) && !isChannels(inner[2]) {
		return nil, fmt.Errorf("images of shape %s: neither the first nor the last dimension is 1, 3 or 4 channels", lang.Size(inner))
	}
	per := int64(1)
	for _, d := range inner {
		per *= d
	}
	if int64(len(data)) != n*per {
		return nil, fmt.Errorf("image data has %d values, shape %s needs %d", len(data), lang.Size(shape), n*per)
	}
	out := make([]string, n)
	for i := range out {
		uri, err := ArrayPNG(data[int64(i)*per:int64(i+1)*per], inner)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		out[i] = uri
	}
	return out, nil
}

func isChannels(d int64) bool { return d == 1 || d == 3 || d == 4 }

func imageLayout(shape []int64) (h, w, c int64, chw bool, err error) {
	// PyTorch's (C, H, W) first: an image 1 or 3 pixels tall is unlikely.
	switch {
	case len(shape) == 2:
		return shape[0], shape[1], 1, false, nil
	case len(shape) == 3 && (shape[0] == 1 || shape[0] == 3):
		return shape[1], shape[2], shape[0], true, nil
	case len(shape) == 3 && isChannels(shape[2]):
		return shape[0], shape[1], shape[2], false, nil
	}
	return 0, 0, 0, false, fmt.Errorf("an image has shape (H, W), (C, H, W) with C = 1 or 3, or (H, W, C) with C = 1, 3 or 4, got %s", lang.Size(shape))
}

func pngURI(data []float64, h, w, c int, chw bool) (string, error) {
	if h <= 0 || w <= 0 {
		return "", fmt.Errorf("empty image (%d x %d)", h, w)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range data {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	scale, offset := 255.0, 0.0
	switch {
	case lo >= 0 && hi <= 1:
	case lo >= 0 && hi <= 255:
		scale = 1
	case hi > lo:
		scale, offset = 255/(hi-lo), lo
	}
	at := func(y, x, ch int) uint8 {
		var v float64
		if chw {
			v = data[(ch*h+y)*w+x]
		} else {
			v = data[(y*w+x)*c+ch]
		}
		v = math.Round((v - offset) * scale)
		if math.IsNaN(v) || v < 0 {
			return 0
		}
		return uint8(math.Min(v, 255))
	}
	var img image.Image
	if c == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.SetGray(x, y, color.Gray{at(y, x, 0)})
			}
		}
		img = g
	} else {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				a := uint8(255)
				if c == 4 {
					a = at(y, x, 3)
				}
				m.SetNRGBA(x, y, color.NRGBA{at(y, x, 0), at(y, x, 1), at(y, x, 2), a})
			}
		}
		img = m
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
