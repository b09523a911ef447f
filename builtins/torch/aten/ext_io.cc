// PyTorch's own file formats: writing state dicts as torch.save does (the
// zip format, with libtorch's pickler; reading is pure Go in ptfile, since
// libtorch cannot unpickle Python's state dicts) and TorchScript modules
// (torch.jit.save), which dadash runs and trains like its own modules.
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ext.h"
#include "ext_util.h"

#define T(x) (*(at::Tensor *)(x))

namespace {

// flatten collects the tensors of a nested dict/list/tuple structure with
// dotted paths ("state_dict.layer1.0.conv1.weight").
void flatten(const c10::IValue &v, const std::string &prefix, std::vector<std::string> &names,
             std::vector<at::Tensor> &tensors) {
  if (v.isTensor()) {
    names.push_back(prefix);
    tensors.push_back(v.toTensor());
  } else if (v.isGenericDict()) {
    for (const auto &kv : v.toGenericDict()) {
      std::string key;
      if (kv.key().isString()) key = kv.key().toStringRef();
      else if (kv.key().isInt()) key = std::to_string(kv.key().toInt());
      else continue;
      flatten(kv.value(), prefix.empty() ? key : prefix + "." + key, names, tensors);
    }
  } else if (v.isList() || v.isTuple()) {
    auto elems = v.isList() ? v.toListRef().vec() : v.toTupleRef().elements().vec();
    for (size_t i = 0; i < elems.size(); i++)
      flatten(elems[i], prefix.empty() ? std::to_string(i) : prefix + "." + std::to_string(i), names, tensors);
  } else if (v.isObject()) {
    throw std::runtime_error("the file holds a pickled Python object (a whole model?), not a state dict; "
                             "in Python save model.state_dict() instead of the model");
  }
}

void put_named(const std::vector<std::string> &names, const std::vector<at::Tensor> &tensors, char ***onames,
               dd_tensor **otensors, int64_t *n) {
  *n = (int64_t)names.size();
  *onames = (char **)std::malloc(sizeof(char *) * (names.size() + 1));
  *otensors = (dd_tensor *)std::malloc(sizeof(dd_tensor) * (names.size() + 1));
  for (size_t i = 0; i < names.size(); i++) {
    (*onames)[i] = dd_strdup(names[i]);
    (*otensors)[i] = new at::Tensor(tensors[i]);
  }
}

}  // namespace

extern "C" {

const char *dd_pickle_save(const char *path, const char **names, const dd_tensor *tensors, int64_t n) {
  try {
    c10::Dict<std::string, at::Tensor> d;
    for (int64_t i = 0; i < n; i++) d.insert(names[i], T(tensors[i]).detach().cpu());
    auto bytes = torch::jit::pickle_save(d);
    std::ofstream f(path, std::ios::binary);
    if (!f) return dd_err(std::string("cannot create ") + path);
    f.write(bytes.data(), (std::streamsize)bytes.size());
    f.close();
    if (!f) return dd_err(std::string("cannot write ") + path);
    return nullptr;
  }
  DD_CATCH
}

// ---------------------------------------------------------------- TorchScript

const char *dd_jit_load(const char *path, dd_jit *out) {
  try {
    *out = new torch::jit::Module(torch::jit::load(path));
    return nullptr;
  }
  DD_CATCH
}

void dd_jit_free(dd_jit m) { delete (torch::jit::Module *)m; }

const char *dd_jit_define(const char *source, const char **names, const dd_tensor *tensors, int64_t n,
                          dd_jit *out) {
  try {
    auto *m = new torch::jit::Module("dadash_script");
    for (int64_t i = 0; i < n; i++) m->register_parameter(names[i], T(tensors[i]), false);
    try {
      m->define(source);
    } catch (...) {
      delete m;
      throw;
    }
    *out = m;
    return nullptr;
  }
  DD_CATCH
}

const char *dd_jit_save(dd_jit m, const char *path) {
  try {
    ((torch::jit::Module *)m)->save(path);
    return nullptr;
  }
  DD_CATCH
}

const char *dd_jit_named(dd_jit m, int32_t buffers, char ***names, dd_tensor **tensors, int64_t *n) {
  try {
    auto *mod = (torch::jit::Module *)m;
    std::vector<std::string> ns;
    std::vector<at::Tensor> ts;
    if (buffers) {
      for (const auto &nb : mod->named_buffers(true)) {
        ns.push_back(nb.name);
        ts.push_back(nb.value);
      }
    } else {
      for (const auto &np : mod->named_parameters(true)) {
        ns.push_back(np.name);
        ts.push_back(np.value);
      }
    }
    put_named(ns, ts, names, tensors, n);
    return nullptr;
  }
  DD_CATCH
}

const char *dd_jit_train(dd_jit m, int32_t on) {
  try {
    ((torch::jit::Module *)m)->train(on != 0);
    return nullptr;
  }
  DD_CATCH
}

const char *dd_jit_forward(dd_jit m, const dd_tensor *inputs, int64_t n, dd_tensor **outs, int64_t *nout) {
  try {
    std::vector<c10::IValue> in;
    for (int64_t i = 0; i < n; i++) in.push_back(T(inputs[i]));
    auto r = ((torch::jit::Module *)m)->forward(in);
    std::vector<std::string> ns;
    std::vector<at::Tensor> ts;
    flatten(r, "", ns, ts);
    if (ts.empty()) return dd_err("the TorchScript module's forward returned no tensor");
    *nout = (int64_t)ts.size();
    *outs = (dd_tensor *)std::malloc(sizeof(dd_tensor) * ts.size());
    for (size_t i = 0; i < ts.size(); i++) (*outs)[i] = new at::Tensor(ts[i]);
    return nullptr;
  }
  DD_CATCH
}

}  // extern "C"
