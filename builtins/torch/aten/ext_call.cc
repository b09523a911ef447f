// Calls any libtorch operator by name through the dispatcher, choosing the
// overload the way PyTorch's Python argument parser would: the arguments given
// (positional and keyword) are matched against each schema of the operator.
// This gives scripts every aten operator with PyTorch's names, keyword
// arguments, defaults and autograd, through one C entry point.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "ext.h"
#include "ext_util.h"

namespace {

struct OpEntry {
  std::string name;
  std::vector<c10::OperatorHandle> overloads;
};

std::mutex ops_mu;
std::unordered_map<std::string, OpEntry *> *ops_by_name;

// Builds the name -> overloads table once; the dispatcher's table does not
// change after libtorch has loaded.
void build_ops_table() {
  ops_by_name = new std::unordered_map<std::string, OpEntry *>();
  auto &d = c10::Dispatcher::singleton();
  for (const auto &on : d.getAllOpNames()) {
    auto h = d.findOp(on);
    if (!h || !h->hasSchema()) continue;
    const auto &schema = h->schema();
    bool skip = false;
    for (const auto &a : schema.arguments()) {
      // out= variants are not offered.
      if (a.is_out()) skip = true;
    }
    // Nor are named-dimension overloads (their Dimname arguments read as str).
    const auto &ov = on.overload_name;
    if (ov.find("Dimname") != std::string::npos || ov == "names" || ov.rfind("names_", 0) == 0 ||
        (ov.size() > 6 && ov.compare(ov.size() - 6, 6, "_names") == 0))
      skip = true;
    if (skip) continue;
    auto &e = (*ops_by_name)[on.name];
    if (!e) {
      e = new OpEntry();
      e->name = on.name;
    }
    e->overloads.push_back(*h);
  }
  // Deterministic order: the unnamed overload first, then by name.
  for (auto &kv : *ops_by_name) {
    auto &v = kv.second->overloads;
    std::stable_sort(v.begin(), v.end(), [](const c10::OperatorHandle &a, const c10::OperatorHandle &b) {
      return a.operator_name().overload_name < b.operator_name().overload_name;
    });
  }
}

// Exact: every value has the schema's type. Loose: a Python number stands
// for a Tensor (passed as a wrapped-number tensor, which keeps autograd and
// PyTorch's type promotion). Looser: a 0-d tensor stands for a Scalar; its
// value is read with item(), which cuts it out of the autograd graph, so
// this is the last resort: `0 + loss` must pick add(Tensor, Tensor) with a
// wrapped 0, not add(Tensor self=0, Scalar other=loss.item()).
enum class Match { No, Exact, Loose, Looser };

const char *kind_name(int32_t k) {
  switch (k) {
    case DD_NONE: return "None";
    case DD_TENSOR: return "Tensor";
    case DD_INT: return "int";
    case DD_FLOAT: return "float";
    case DD_BOOL: return "bool";
    case DD_STR: return "str";
    case DD_INTS: return "list of int";
    case DD_FLOATS: return "list of float";
    case DD_TENSORS: return "list of Tensor";
    case DD_DTYPE: return "dtype";
    case DD_DEVICE: return "device";
  }
  return "?";
}

// How well one given value fits a schema type. Loose matches (a number where a
// Tensor is expected) are only taken when no overload matches exactly.
Match fits(const c10::TypePtr &type, const dd_arg &a, const c10::optional<int32_t> &N) {
  using K = c10::TypeKind;
  if (a.kind == DD_NONE) return type->kind() == K::OptionalType ? Match::Exact : Match::No;
  c10::TypePtr t = type;
  if (t->kind() == K::OptionalType) t = t->expectRef<c10::OptionalType>().getElementType();
  switch (t->kind()) {
    case K::TensorType:
      if (a.kind == DD_TENSOR) return Match::Exact;
      if (a.kind == DD_INT || a.kind == DD_FLOAT || a.kind == DD_BOOL) return Match::Loose;
      return Match::No;
    case K::IntType:
    case K::SymIntType:
      return a.kind == DD_INT ? Match::Exact : Match::No;
    case K::FloatType:
      return (a.kind == DD_FLOAT || a.kind == DD_INT) ? Match::Exact : Match::No;
    case K::BoolType:
      return a.kind == DD_BOOL ? Match::Exact : Match::No;
    case K::NumberType:  // Scalar
      if (a.kind == DD_INT || a.kind == DD_FLOAT || a.kind == DD_BOOL) return Match::Exact;
      if (a.kind == DD_TENSOR && a.t && ((at::Tensor *)a.t)->numel() == 1 && ((at::Tensor *)a.t)->dim() == 0)
        return Match::Looser;
      return Match::No;
    case K::StringType:
      return a.kind == DD_STR ? Match::Exact : Match::No;
    case K::ScalarTypeType:
      return a.kind == DD_DTYPE ? Match::Exact : Match::No;
    case K::DeviceObjType:
      return (a.kind == DD_DEVICE || a.kind == DD_STR) ? Match::Exact : Match::No;
    case K::ListType: {
      auto el = t->expectRef<c10::ListType>().getElementType();
      auto ek = el->kind();
      if (ek == K::IntType || ek == K::SymIntType) {
        if (a.kind == DD_INTS) return Match::Exact;
        if (a.kind == DD_INT) return Match::Exact;  // int[N] broadcast, or one dim
        return Match::No;
      }
      if (ek == K::FloatType) return (a.kind == DD_FLOATS || a.kind == DD_INTS) ? Match::Exact : Match::No;
      if (ek == K::TensorType) return a.kind == DD_TENSORS ? Match::Exact : Match::No;
      if (ek == K::OptionalType) {  // Tensor?[] (index)
        return a.kind == DD_TENSORS ? Match::Exact : Match::No;
      }
      return Match::No;
    }
    default:
      // Layout, MemoryFormat, Generator, ...: only None is accepted, above.
      return Match::No;
  }
}

c10::IValue to_ivalue(const c10::TypePtr &type, const dd_arg &a, const c10::optional<int32_t> &N) {
  using K = c10::TypeKind;
  if (a.kind == DD_NONE) return c10::IValue();
  c10::TypePtr t = type;
  if (t->kind() == K::OptionalType) t = t->expectRef<c10::OptionalType>().getElementType();
  switch (t->kind()) {
    case K::TensorType:
      if (a.kind == DD_TENSOR) return *(at::Tensor *)a.t;
      {
        // A Python number standing for a tensor: a wrapped-number scalar
        // tensor, so type promotion treats it as PyTorch does.
        at::Tensor s;
        if (a.kind == DD_INT) s = at::scalar_tensor(a.i, at::kLong);
        else if (a.kind == DD_BOOL) s = at::scalar_tensor(a.i != 0, at::kBool);
        else s = at::scalar_tensor(a.f, at::kDouble);
        s.unsafeGetTensorImpl()->set_wrapped_number(true);
        return s;
      }
    case K::IntType:
    case K::SymIntType:
      return a.i;
    case K::FloatType:
      return a.kind == DD_INT ? (double)a.i : a.f;
    case K::BoolType:
      return a.i != 0;
    case K::NumberType:
      if (a.kind == DD_INT) return c10::Scalar(a.i);
      if (a.kind == DD_BOOL) return c10::Scalar(a.i != 0);
      if (a.kind == DD_TENSOR) return ((at::Tensor *)a.t)->item();
      return c10::Scalar(a.f);
    case K::StringType:
      return std::string(a.s);
    case K::ScalarTypeType:
      return (int64_t)a.i;
    case K::DeviceObjType:
      return c10::Device(std::string(a.s));
    case K::ListType: {
      auto ek = t->expectRef<c10::ListType>().getElementType()->kind();
      if (ek == K::IntType || ek == K::SymIntType) {
        if (a.kind == DD_INT) {
          std::vector<int64_t> v(N ? *N : 1, a.i);
          return v;
        }
        return std::vector<int64_t>(a.ints, a.ints + a.n);
      }
      if (ek == K::FloatType) {
        std::vector<double> v;
        for (int64_t k = 0; k < a.n; k++) v.push_back(a.kind == DD_INTS ? (double)a.ints[k] : a.floats[k]);
        return v;
      }
      if (ek == K::TensorType) {
        std::vector<at::Tensor> v;
        for (int64_t k = 0; k < a.n; k++) v.push_back(*(at::Tensor *)a.tensors[k]);
        return v;
      }
      // Tensor?[]
      c10::List<c10::optional<at::Tensor>> v;
      for (int64_t k = 0; k < a.n; k++) {
        if (a.tensors[k]) v.push_back(*(at::Tensor *)a.tensors[k]);
        else v.push_back(c10::nullopt);
      }
      return v;
    }
    default:
      return c10::IValue();
  }
}

// Tries to bind the given arguments to one schema. On success fills `bound`
// with one pointer per schema argument (NULL: use the default / None).
Match bind_args(const c10::FunctionSchema &schema, const dd_arg *args, int64_t nargs,
           std::vector<const dd_arg *> &bound, std::string *why) {
  const auto &params = schema.arguments();
  bound.assign(params.size(), nullptr);
  int64_t npos = 0;
  while (npos < nargs && args[npos].name == nullptr) npos++;
  if (npos > (int64_t)params.size()) {
    if (why) *why = "takes at most " + std::to_string(params.size()) + " arguments";
    return Match::No;
  }
  Match overall = Match::Exact;
  for (int64_t k = 0; k < npos; k++) {
    if (params[k].kwarg_only()) {
      if (why) *why = "too many positional arguments";
      return Match::No;
    }
    bound[k] = &args[k];
  }
  for (int64_t k = npos; k < nargs; k++) {
    const char *nm = args[k].name;
    bool found = false;
    for (size_t p = 0; p < params.size(); p++) {
      if (params[p].name() == nm) {
        if (bound[p]) {
          if (why) *why = std::string("got multiple values for argument '") + nm + "'";
          return Match::No;
        }
        bound[p] = &args[k];
        found = true;
        break;
      }
    }
    if (!found) {
      if (why) *why = std::string("unexpected keyword argument '") + nm + "'";
      return Match::No;
    }
  }
  for (size_t p = 0; p < params.size(); p++) {
    const auto &prm = params[p];
    if (!bound[p]) {
      if (prm.default_value() || prm.real_type()->kind() == c10::TypeKind::OptionalType) continue;
      if (why) *why = "missing argument '" + prm.name() + "' (" + prm.type()->str() + ")";
      return Match::No;
    }
    Match m = fits(prm.real_type(), *bound[p], prm.N());
    if (m == Match::No) {
      if (why)
        *why = "argument '" + prm.name() + "' must be " + prm.real_type()->str() + ", not " + kind_name(bound[p]->kind);
      return Match::No;
    }
    if (m > overall) overall = m;
  }
  return overall;
}

int64_t ngiven(const std::vector<const dd_arg *> &bound) {
  int64_t n = 0;
  for (auto *b : bound) n += b != nullptr;
  return n;
}

dd_tensor new_handle(const at::Tensor &t) { return new at::Tensor(t); }

void put_ivalue(const c10::IValue &v, dd_ret &r) {
  std::memset(&r, 0, sizeof r);
  if (v.isNone()) {
    r.kind = DR_NONE;
  } else if (v.isTensor()) {
    const auto &t = v.toTensor();
    if (t.defined()) {
      r.kind = DR_TENSOR;
      r.t = new_handle(t);
      r.nbytes = t.has_storage() ? (int64_t)t.storage().nbytes() : 0;
    } else {
      r.kind = DR_NONE;
    }
  } else if (v.isInt()) {
    r.kind = DR_INT;
    r.i = v.toInt();
  } else if (v.isDouble()) {
    r.kind = DR_FLOAT;
    r.f = v.toDouble();
  } else if (v.isBool()) {
    r.kind = DR_BOOL;
    r.i = v.toBool();
  } else if (v.isScalar()) {
    auto s = v.toScalar();
    if (s.isIntegral(false)) {
      r.kind = DR_INT;
      r.i = s.toLong();
    } else if (s.isBoolean()) {
      r.kind = DR_BOOL;
      r.i = s.toBool();
    } else {
      r.kind = DR_FLOAT;
      r.f = s.toDouble();
    }
  } else if (v.isString()) {
    r.kind = DR_STR;
    r.s = dd_strdup(v.toStringRef());
  } else if (v.isTensorList()) {
    auto l = v.toTensorVector();
    r.kind = DR_LIST;
    r.n = (int64_t)l.size();
    r.list = (dd_tensor *)std::malloc(sizeof(dd_tensor) * (l.size() + 1));
    for (size_t k = 0; k < l.size(); k++) r.list[k] = new_handle(l[k]);
  } else if (v.isIntList()) {
    // Returned as a 1-d int64 tensor; rare for operators.
    auto l = v.toIntVector();
    r.kind = DR_TENSOR;
    r.t = new_handle(at::tensor(l, at::kLong));
    r.nbytes = (int64_t)l.size() * 8;
  } else {
    throw std::runtime_error("unsupported return type " + v.tagKind());
  }
}

// The overload an argument list resolves to: its handle and, per schema
// argument, the index of the given argument bound to it (-1: the default).
struct Resolved {
  const c10::OperatorHandle *handle = nullptr;
  std::vector<int32_t> bind;
};

// resolve chooses the overload as PyTorch's argument parser would: exact
// matches win over loose ones, loose over looser; within a tier, the schema
// that needs the fewest defaults filled in (the most specific one). On no
// match it returns the error listing every signature and why it failed.
const char *resolve(OpEntry *e, const char *display, const dd_arg *args, int64_t nargs, Resolved &out) {
  const c10::OperatorHandle *best = nullptr;
  std::vector<const dd_arg *> bound, best_bound;
  int64_t best_given = 0;
  for (Match want : {Match::Exact, Match::Loose, Match::Looser}) {
    for (const auto &h : e->overloads) {
      Match m = bind_args(h.schema(), args, nargs, bound, nullptr);
      if (m != want) continue;
      int64_t extra = (int64_t)h.schema().arguments().size() - ngiven(bound);
      if (!best || extra < best_given) {
        best = &h;
        best_bound = bound;
        best_given = extra;
      }
    }
    if (best) break;
  }
  if (!best) {
    std::ostringstream os;
    os << display << "(): no signature matches the arguments (";
    for (int64_t k = 0; k < nargs; k++) {
      if (k) os << ", ";
      if (args[k].name) os << args[k].name << "=";
      os << kind_name(args[k].kind);
    }
    os << ")";
    for (const auto &h : e->overloads) {
      std::string why;
      bind_args(h.schema(), args, nargs, bound, &why);
      os << "\n  " << h.schema() << ": " << why;
    }
    return dd_err(os.str());
  }
  out.handle = best;
  out.bind.resize(best_bound.size());
  for (size_t p = 0; p < best_bound.size(); p++) out.bind[p] = best_bound[p] ? (int32_t)(best_bound[p] - args) : -1;
  return nullptr;
}

}  // namespace

extern "C" {

const char *dd_op_lookup(const char *qualname, dd_op *op) {
  try {
    std::lock_guard<std::mutex> g(ops_mu);
    if (!ops_by_name) build_ops_table();
    auto it = ops_by_name->find(qualname);
    if (it == ops_by_name->end()) return dd_err(std::string("no operator ") + qualname + " in this libtorch");
    *op = it->second;
    return nullptr;
  }
  DD_CATCH
}

int dd_op_exists(const char *qualname) {
  dd_op op = nullptr;
  const char *e = dd_op_lookup(qualname, &op);
  if (e) {
    dd_free((void *)e);
    return 0;
  }
  return 1;
}

char *dd_op_schemas(dd_op op) {
  try {
    auto *e = (OpEntry *)op;
    std::ostringstream os;
    for (const auto &h : e->overloads) os << h.schema() << "\n";
    return dd_strdup(os.str());
  } catch (...) {
    return nullptr;
  }
}

const char *dd_call(dd_op op, const char *display, const dd_arg *args, int64_t nargs, dd_ret *buf,
                    int64_t cap, dd_ret **rets, int64_t *nrets) {
  try {
    auto *e = (OpEntry *)op;
    // The overload chosen depends only on the operator and on the
    // arguments' kinds, keyword names and, for tensors, whether they are
    // 0-d (see fits): that is the cache key, so a script's `a + b` in a loop
    // matches the schemas once per thread instead of on every call.
    thread_local std::string key;
    thread_local std::unordered_map<std::string, Resolved> cache;
    key.clear();
    key.append((const char *)&e, sizeof e);
    for (int64_t k = 0; k < nargs; k++) {
      const dd_arg &a = args[k];
      char c = (char)a.kind;
      if (a.kind == DD_TENSOR && a.t && ((at::Tensor *)a.t)->dim() == 0) c |= 0x40;
      key.push_back(c);
      if (a.name) {
        key.append(a.name);
        key.push_back('\0');
      }
    }
    const Resolved *res;
    auto it = cache.find(key);
    if (it != cache.end()) {
      res = &it->second;
    } else {
      Resolved r;
      const char *err = resolve(e, display, args, nargs, r);
      if (err) return err;
      res = &cache.emplace(key, std::move(r)).first->second;
    }
    const auto &schema = res->handle->schema();
    const auto &params = schema.arguments();
    // One stack per thread, reused: its capacity stays, so a call allocates
    // only what the operator itself does. A call made from inside another
    // (nothing does today: no operator calls back into Go) gets its own.
    thread_local torch::jit::Stack shared_stack;
    thread_local int depth = 0;
    torch::jit::Stack own_stack;
    torch::jit::Stack &stack = depth == 0 ? shared_stack : own_stack;
    struct Depth {
      int &d;
      explicit Depth(int &d) : d(d) { d++; }
      ~Depth() { d--; }
    } in_call(depth);
    stack.clear();
    for (size_t p = 0; p < params.size(); p++) {
      int32_t k = res->bind[p];
      if (k >= 0) stack.push_back(to_ivalue(params[p].real_type(), args[k], params[p].N()));
      else if (params[p].default_value()) stack.push_back(*params[p].default_value());
      else stack.push_back(c10::IValue());
    }
    try {
      res->handle->callBoxed(&stack);
    } catch (...) {
      stack.clear();
      throw;
    }
    const auto &returns = schema.returns();
    auto *out = (int64_t)stack.size() <= cap ? buf : (dd_ret *)std::calloc(stack.size() + 1, sizeof(dd_ret));
    for (size_t k = 0; k < stack.size(); k++) {
      put_ivalue(stack[k], out[k]);
      if (k < returns.size() && !returns[k].name().empty()) out[k].name = dd_intern(returns[k].name());
    }
    *rets = out;
    *nrets = (int64_t)stack.size();
    stack.clear();  // drop the references to the results now, not at the next call
    return nullptr;
  }
  DD_CATCH
}

}  // extern "C"
