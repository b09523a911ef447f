// Lists the aten operators that dd_call can call, for dir(torch) and Tab
// completion: an operator is listed when one of its overloads takes only
// argument types dd_call converts (those without a default or None may be
// left out) and returns only types it converts back. The same overloads
// are skipped as in ext_call.cc (out= and named-dimension variants).
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <set>
#include <string>

#include "ext.h"
#include "ext_util.h"

namespace {

bool arg_type_ok(const c10::TypePtr &type) {
  using K = c10::TypeKind;
  c10::TypePtr t = type;
  if (t->kind() == K::OptionalType) t = t->expectRef<c10::OptionalType>().getElementType();
  switch (t->kind()) {
    case K::TensorType:
    case K::IntType:
    case K::SymIntType:
    case K::FloatType:
    case K::BoolType:
    case K::NumberType:
    case K::StringType:
    case K::ScalarTypeType:
    case K::DeviceObjType:
      return true;
    case K::ListType: {
      auto ek = t->expectRef<c10::ListType>().getElementType()->kind();
      return ek == K::IntType || ek == K::SymIntType || ek == K::FloatType || ek == K::TensorType ||
             ek == K::OptionalType;
    }
    default:
      return false;
  }
}

bool return_type_ok(const c10::TypePtr &type) {
  using K = c10::TypeKind;
  c10::TypePtr t = type;
  if (t->kind() == K::OptionalType) t = t->expectRef<c10::OptionalType>().getElementType();
  switch (t->kind()) {
    case K::TensorType:
    case K::IntType:
    case K::SymIntType:
    case K::FloatType:
    case K::BoolType:
    case K::NumberType:
    case K::StringType:
    case K::NoneType:
      return true;
    case K::ListType: {
      auto ek = t->expectRef<c10::ListType>().getElementType()->kind();
      return ek == K::TensorType || ek == K::IntType || ek == K::SymIntType;
    }
    default:
      return false;
  }
}

bool callable(const c10::FunctionSchema &schema, const std::string &overload) {
  if (overload.find("Dimname") != std::string::npos || overload == "names" || overload.rfind("names_", 0) == 0 ||
      (overload.size() > 6 && overload.compare(overload.size() - 6, 6, "_names") == 0))
    return false;
  for (const auto &a : schema.arguments()) {
    if (a.is_out()) return false;
    if (a.default_value() || a.real_type()->kind() == c10::TypeKind::OptionalType) continue;
    if (!arg_type_ok(a.real_type())) return false;
  }
  for (const auto &r : schema.returns())
    if (!return_type_ok(r.real_type())) return false;
  return true;
}

}  // namespace

extern "C" char *dd_op_names(void) {
  try {
    auto &d = c10::Dispatcher::singleton();
    std::set<std::string> names;
    for (const auto &on : d.getAllOpNames()) {
      if (on.name.rfind("aten::", 0) != 0) continue;
      std::string n = on.name.substr(6);
      // Internal operators (_foo), in-place variants (foo_) and autograd's
      // own (foo_backward) are not what scripts call by name.
      if (n.empty() || n[0] == '_' || n.back() == '_' || n.find("backward") != std::string::npos) continue;
      // Nor are one backend's kernels, which the dispatcher picks itself.
      bool backend = false;
      for (const char *p : {"cudnn_", "miopen_", "mkldnn_", "fbgemm_", "quantized_", "thnn_", "slow_conv"})
        if (n.rfind(p, 0) == 0) backend = true;
      if (backend) continue;
      if (names.count(n)) continue;
      auto h = d.findOp(on);
      if (!h || !h->hasSchema()) continue;
      if (callable(h->schema(), on.overload_name)) names.insert(n);
    }
    std::string out;
    for (const auto &n : names) {
      out += n;
      out += '\n';
    }
    return dd_strdup(out);
  } catch (...) {
    return nullptr;
  }
}
