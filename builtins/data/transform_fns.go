package data

import (
	"fmt"

	"go.starlark.net/starlark"
)

type builtinFn = func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)

func fnCompose(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "transforms", &v); err != nil {
		return nil, err
	}
	tr, err := transformArg(b.Name(), v)
	if err != nil {
		return nil, err
	}
	if tr == nil {
		tr = &Transform{}
	}
	return tr, nil
}

func fnRandomResizedCrop(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var sizeV, scaleV, ratioV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "size", &sizeV, "scale?", &scaleV, "ratio?", &ratioV); err != nil {
		return nil, err
	}
	h, w, _, err := sizeArg(b.Name(), sizeV)
	if err != nil {
		return nil, err
	}
	o := &randomResizedCrop{h: h, w: w, scale: [2]float64{0.08, 1}, ratio: [2]float64{3.0 / 4, 4.0 / 3}}
	if scaleV != nil {
		if o.scale, err = pairArg(b.Name(), "scale", scaleV); err != nil {
			return nil, err
		}
	}
	if ratioV != nil {
		if o.ratio, err = pairArg(b.Name(), "ratio", ratioV); err != nil {
			return nil, err
		}
	}
	if o.scale[0] > o.scale[1] || o.scale[0] <= 0 {
		return nil, fmt.Errorf("%s: scale must be (min, max) with 0 < min <= max, got (%g, %g)", b.Name(), o.scale[0], o.scale[1])
	}
	if o.ratio[0] > o.ratio[1] || o.ratio[0] <= 0 {
		return nil, fmt.Errorf("%s: ratio must be (min, max) with 0 < min <= max, got (%g, %g)", b.Name(), o.ratio[0], o.ratio[1])
	}
	return single(o), nil
}

func fnFlip(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	pn := number(0.5)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "p?", &pn); err != nil {
		return nil, err
	}
	p := float64(pn)
	if p < 0 || p > 1 {
		return nil, fmt.Errorf("%s: p must be a probability in [0, 1], got %g", b.Name(), p)
	}
	return single(&horizontalFlip{p: p}), nil
}

func fnResize(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var sizeV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "size", &sizeV); err != nil {
		return nil, err
	}
	h, w, square, err := sizeArg(b.Name(), sizeV)
	if err != nil {
		return nil, err
	}
	if _, isInt := sizeV.(starlark.Int); isInt && square {
		return single(&resize{short: h}), nil
	}
	return single(&resize{h: h, w: w}), nil
}

func fnCenterCrop(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var sizeV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "size", &sizeV); err != nil {
		return nil, err
	}
	h, w, _, err := sizeArg(b.Name(), sizeV)
	if err != nil {
		return nil, err
	}
	return single(&centerCrop{h: h, w: w}), nil
}

func fnToTensor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	scale := number(1)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "scale?", &scale); err != nil {
		return nil, err
	}
	if scale <= 0 {
		return nil, fmt.Errorf("%s: scale must be positive, got %g", b.Name(), float64(scale))
	}
	return single(&toTensor{scale: float64(scale)}), nil
}

func fnNormalize(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mv, sv starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "mean", &mv, "std", &sv); err != nil {
		return nil, err
	}
	mean, err := floatsArg(b.Name(), "mean", mv)
	if err != nil {
		return nil, err
	}
	std, err := floatsArg(b.Name(), "std", sv)
	if err != nil {
		return nil, err
	}
	if len(mean) == 0 || len(std) == 0 {
		return nil, fmt.Errorf("%s: mean and std need at least one value", b.Name())
	}
	for _, s := range std {
		if s == 0 {
			return nil, fmt.Errorf("%s: std has a zero (division by zero)", b.Name())
		}
	}
	return single(&normalize{mean: mean, std: std}), nil
}

func noArgs(o op) builtinFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, err
		}
		return single(o), nil
	}
}

var (
	fnGrayToRGB = noArgs(grayscaleToRGB{})
	fnRGBToBGR  = noArgs(rgbToBGR{})
)

func fnAutoAugment(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	policy := "imagenet"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "policy?", &policy); err != nil {
		return nil, err
	}
	if policy != "imagenet" {
		return nil, fmt.Errorf("%s: only the \"imagenet\" policy is implemented, got %q", b.Name(), policy)
	}
	return single(autoAugment{}), nil
}

func fnColorJitter(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var vals [4]starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "brightness?", &vals[0], "contrast?", &vals[1], "saturation?", &vals[2], "hue?", &vals[3]); err != nil {
		return nil, err
	}
	names := [4]string{"brightness", "contrast", "saturation", "hue"}
	o := &colorJitter{}
	for i, v := range vals {
		if v == nil || v == starlark.None {
			continue
		}
		var r [2]float64
		if f, ok := starlark.AsFloat(v); ok {
			if f < 0 {
				return nil, fmt.Errorf("%s: %s must be >= 0, got %g", b.Name(), names[i], f)
			}
			o.args[i] = f
			if i == 3 {
				r = [2]float64{-f, f}
			} else {
				r = [2]float64{max(0, 1-f), 1 + f}
			}
		} else {
			p, err := pairArg(b.Name(), names[i], v)
			if err != nil {
				return nil, err
			}
			r = p
			o.args[i] = (p[1] - p[0]) / 2
		}
		if i == 3 && (r[0] < -0.5 || r[1] > 0.5) {
			return nil, fmt.Errorf("%s: hue must lie in [-0.5, 0.5], got (%g, %g)", b.Name(), r[0], r[1])
		}
		center := 1.0
		if i == 3 {
			center = 0
		}
		if r[0] == center && r[1] == center {
			continue // torchvision switches an adjustment off when it cannot change anything
		}
		o.ranges[i] = &r
	}
	return single(o), nil
}

func normSteps(fn, norm string) ([]op, error) {
	switch norm {
	case "imagenet":
		return []op{&toTensor{scale: 1}, &normalize{mean: imagenetMean, std: imagenetStd}}, nil
	case "bninception":
		return []op{&toTensor{scale: 255}, rgbToBGR{}, &normalize{mean: bninceptionMean, std: bninceptionStd}}, nil
	}
	return nil, fmt.Errorf("%s: norm must be \"imagenet\" or \"bninception\", got %q", fn, norm)
}

func fnTrainTransform(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	kind, norm := "base", "imagenet"
	var sizeV starlark.Value = starlark.MakeInt(224)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "kind?", &kind, "size?", &sizeV, "norm?", &norm); err != nil {
		return nil, err
	}
	h, w, _, err := sizeArg(b.Name(), sizeV)
	if err != nil {
		return nil, err
	}
	tail, err := normSteps(b.Name(), norm)
	if err != nil {
		return nil, err
	}
	ops := []op{grayscaleToRGB{}}
	switch kind {
	case "base":
	case "auto":
		ops = append(ops, autoAugment{})
	default:
		return nil, fmt.Errorf("%s: kind must be \"base\" or \"auto\", got %q", b.Name(), kind)
	}
	ops = append(ops, &randomResizedCrop{h: h, w: w, scale: [2]float64{0.08, 1}, ratio: [2]float64{3.0 / 4, 4.0 / 3}}, &horizontalFlip{p: 0.5})
	return &Transform{ops: append(ops, tail...)}, nil
}

func fnEvalTransform(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	norm := "imagenet"
	var resizeV starlark.Value = starlark.MakeInt(256)
	var cropV starlark.Value = starlark.MakeInt(224)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "resize?", &resizeV, "crop?", &cropV, "norm?", &norm); err != nil {
		return nil, err
	}
	rs, err := fnResize(thread, starlark.NewBuiltin(b.Name(), nil), starlark.Tuple{resizeV}, nil)
	if err != nil {
		return nil, err
	}
	ch, cw, _, err := sizeArg(b.Name(), cropV)
	if err != nil {
		return nil, err
	}
	tail, err := normSteps(b.Name(), norm)
	if err != nil {
		return nil, err
	}
	ops := []op{grayscaleToRGB{}, rs.(*Transform).ops[0], &centerCrop{h: ch, w: cw}}
	return &Transform{ops: append(ops, tail...)}, nil
}
