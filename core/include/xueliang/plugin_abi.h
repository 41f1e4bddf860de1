// The binary interface of plugins loaded at run time from shared objects ([plugins] load).
// A plugin author includes this header and writes XUELIANG_PLUGIN("name", Class) once; the macro
// defines the C entry points the server's loader looks up. The server refuses a shared object
// built for another plugin API version or another C++ standard library ABI, because plugin.h's
// classes cross the boundary by layout (std::string, std::function, vtables).
#pragma once

#include <memory>

#include "xueliang/plugin.h"
#include "xueliang/protocol.h"

// Bumped whenever plugin.h, protocol.h's ModuleRegistry or the types they expose (config.h,
// sink.h, frame.h, ...) change in a way that breaks already built plugins.
#define XUELIANG_PLUGIN_API_VERSION 1

// The C++ standard library and its ABI flavour: a plugin built against another one would pass
// std::string and std::function with a different layout.
#if defined(_LIBCPP_VERSION)
#define XUELIANG_PLUGIN_STDLIB "libc++"
#elif defined(__GLIBCXX__)
#if _GLIBCXX_USE_CXX11_ABI
#define XUELIANG_PLUGIN_STDLIB "libstdc++/cxx11"
#else
#define XUELIANG_PLUGIN_STDLIB "libstdc++/old"
#endif
#else
#define XUELIANG_PLUGIN_STDLIB "unknown"
#endif
#if defined(_GLIBCXX_DEBUG)
#define XUELIANG_PLUGIN_ABI_TAG XUELIANG_PLUGIN_STDLIB "/debug"
#else
#define XUELIANG_PLUGIN_ABI_TAG XUELIANG_PLUGIN_STDLIB
#endif

// The version a plugin reports. Only the mismatch tests set the override, to build a plugin
// that claims another version.
#ifdef XUELIANG_PLUGIN_API_VERSION_OVERRIDE
#define XUELIANG_PLUGIN_BUILT_API_VERSION XUELIANG_PLUGIN_API_VERSION_OVERRIDE
#else
#define XUELIANG_PLUGIN_BUILT_API_VERSION XUELIANG_PLUGIN_API_VERSION
#endif

// Names of the entry points, shared by the macro and the loader.
#define XUELIANG_PLUGIN_SYM_VERSION "xueliang_plugin_api_version"
#define XUELIANG_PLUGIN_SYM_ABI "xueliang_plugin_abi_tag"
#define XUELIANG_PLUGIN_SYM_REGISTER "xueliang_plugin_register"

namespace xl {
using PluginApiVersionFn = int (*)();
using PluginAbiTagFn = const char* (*)();
using PluginRegisterFn = void (*)(ModuleRegistry*);
}  // namespace xl

// Defines the entry points of a plugin whose type `name` ("hello") is made by `Class`
// (default-constructible, derived from xl::Plugin). Write it once, at namespace scope, in one
// source file of the shared object.
#define XUELIANG_PLUGIN(name, Class)                                                          \
  extern "C" __attribute__((visibility("default"))) int xueliang_plugin_api_version() {       \
    return XUELIANG_PLUGIN_BUILT_API_VERSION;                                                 \
  }                                                                                           \
  extern "C" __attribute__((visibility("default"))) const char* xueliang_plugin_abi_tag() {   \
    return XUELIANG_PLUGIN_ABI_TAG;                                                           \
  }                                                                                           \
  extern "C" __attribute__((visibility("default"))) void xueliang_plugin_register(            \
      ::xl::ModuleRegistry* registry) {                                                       \
    registry->addPluginType(name, [] { return std::shared_ptr<::xl::Plugin>(new Class()); }); \
  }
