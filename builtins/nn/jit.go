package nn

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/internal/atomicfile"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
)

// TorchScript modules (torch.jit.save output) as dadash modules: their
// parameters are registered as the module's own (the same tensors, so an
// optimizer trains the scripted model), and forward runs the script.

// NewScriptModule wraps a TorchScript module.
func NewScriptModule(j *aten.JIT, origin string) (*Module, error) {
	m := NewModule("RecursiveScriptModule", nil)
	params, err := j.Named(false)
	if err != nil {
		return nil, err
	}
	for _, p := range params {
		if err := m.addDotted(p.Name, p.Tensor, true); err != nil {
			return nil, err
		}
	}
	bufs, err := j.Named(true)
	if err != nil {
		return nil, err
	}
	for _, b := range bufs {
		if err := m.addDotted(b.Name, b.Tensor, false); err != nil {
			return nil, err
		}
	}
	m.SetAttr("origin", starlark.String(origin))
	jitTraining := true
	m.SetForward(func(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(kwargs) > 0 {
			return nil, fmt.Errorf("%s: a TorchScript module takes positional tensors only", origin)
		}
		if tr := m.Training(); tr != jitTraining {
			if err := j.Train(tr); err != nil {
				return nil, err
			}
			jitTraining = tr
		}
		in := make([]aten.Tensor, len(args))
		for i, a := range args {
			t, ok := a.(*torch.Tensor)
			if !ok {
				return nil, fmt.Errorf("%s: input %d is a %s, not a tensor", origin, i+1, a.Type())
			}
			in[i] = t.ATen()
		}
		outs, err := j.Forward(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", origin, err)
		}
		if len(outs) == 1 {
			return torch.New(outs[0]), nil
		}
		vals := make(starlark.Tuple, len(outs))
		for i, o := range outs {
			vals[i] = torch.New(o)
		}
		return vals, nil
	})
	m.AddMethod("save", "m.save(path): writes the TorchScript module (torch.jit.save format), with the current parameter values.",
		func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path string
			if err := starlark.UnpackArgs("save", args, kwargs, "path", &path); err != nil {
				return nil, err
			}
			if err := sandbox.Write(thread, b.Name(), path); err != nil {
				return nil, err
			}
			return starlark.None, atomicfile.WritePath(path, j.Save)
		})
	m.ExtraRepr = func(m *Module) string { return "original_name=" + origin }
	return m, nil
}

// addDotted registers "a.b.c" as parameter/buffer c of child a.b, making
// the children as needed, so state_dict names match the script's.
func (m *Module) addDotted(name string, t aten.Tensor, param bool) error {
	mod := m
	for {
		i := indexByte(name, '.')
		if i < 0 {
			break
		}
		child := mod.childVal[name[:i]]
		if child == nil {
			child = NewModule("RecursiveScriptModule", nil)
			if err := mod.AddChild(name[:i], child); err != nil {
				return err
			}
		}
		mod, name = child, name[i+1:]
	}
	if param {
		mod.params = append(mod.params, name)
		mod.paramVal[name] = torch.New(t)
		return nil
	}
	return mod.AddBuffer(name, t, true)
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

var jitModule = torch.NewNamespace("torch.jit", "-", "torch.jit: TorchScript modules. load(path) reads torch.jit.save output as a trainable module; script(source, **params) compiles TorchScript source.", starlark.StringDict{
	"load": lang.Func("torch.jit.load", "torch.jit.load(path): a module saved with torch.jit.save (e.g. exported from Python), as a dadash module: callable, trainable (its parameters are registered), state_dict(), train()/eval(), save(path).", jLoad),
	"script": lang.Func("torch.jit.script", `torch.jit.script(source, **params): compiles TorchScript source whose methods use the given
parameters as self.<name>, e.g.
    torch.jit.script("def forward(self, x):\n    return x @ self.w", w = torch.randn(3, 2))`, jScript),
})

func jLoad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "f", &path); err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), path); err != nil {
		return nil, err
	}
	j, err := aten.JITLoad(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", b.Name(), path, err)
	}
	m, err := NewScriptModule(j, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return m, nil
}

func jScript(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var src string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, nil, 1, &src); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(src, "\n") {
		src += "\n" // TorchScript's parser wants the last line terminated
	}
	var params []aten.Named
	for _, kv := range kwargs {
		t, ok := kv[1].(*torch.Tensor)
		if !ok {
			return nil, fmt.Errorf("%s: parameter %s is a %s, not a tensor", b.Name(), kv[0], kv[1].Type())
		}
		pt, err := t.ATen().Detach()
		if err != nil {
			return nil, err
		}
		if pt.DType().IsFloating() {
			if err := pt.SetRequiresGrad(true); err != nil {
				return nil, err
			}
		}
		params = append(params, aten.Named{Name: string(kv[0].(starlark.String)), Tensor: pt})
	}
	j, err := aten.JITDefine(src, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	m, err := NewScriptModule(j, "script")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return m, nil
}
