#include "xueliang/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

namespace xl {
namespace {
const toml::table& tableOf(const void* p) {
  return *static_cast<const toml::table*>(p);
}
}  // namespace

struct ConfigDocument::Impl {
  toml::table table;
};

std::string ConfigErrors::joined() const {
  std::string out;
  for (auto& e : list_) out += e + "\n";
  return out;
}

ConfigSection::ConfigSection(const void* table, std::string path,
                             std::shared_ptr<const std::string> file, ConfigErrors* errors)
    : table_(table), path_(std::move(path)), file_(std::move(file)), errors_(errors) {}

std::string ConfigSection::qualified(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

std::string ConfigSection::where(const std::string& key) const {
  const toml::node* n = table_ ? tableOf(table_).get(key) : nullptr;
  int line = 0;
  if (n) line = static_cast<int>(n->source().begin.line);
  if (!line && table_) line = static_cast<int>(tableOf(table_).source().begin.line);
  return *file_ + ":" + std::to_string(line);
}

void ConfigSection::error(const std::string& key, const std::string& message) {
  errors_->add(where(key) + ": " + qualified(key) + ": " + message);
}

bool ConfigSection::has(const std::string& key) const {
  return table_ && tableOf(table_).contains(key);
}

std::string ConfigSection::string(const std::string& key, const std::string& def) {
  used_.insert(key);
  if (!has(key)) return def;
  auto v = tableOf(table_).get(key)->value<std::string>();
  if (!v || !tableOf(table_).get(key)->is_string()) {
    error(key, "expected a string");
    return def;
  }
  return *v;
}

std::string ConfigSection::choice(const std::string& key, const std::string& def,
                                  const std::vector<std::string>& allowed) {
  std::string v = string(key, def);
  for (auto& a : allowed) {
    if (a == v) return v;
  }
  std::string list;
  for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  error(key, "'" + v + "' is not one of: " + list);
  return def;
}

int64_t ConfigSection::integer(const std::string& key, int64_t def, int64_t min, int64_t max) {
  used_.insert(key);
  if (!has(key)) return def;
  const toml::node* n = tableOf(table_).get(key);
  if (!n->is_integer()) {
    error(key, "expected an integer");
    return def;
  }
  int64_t v = *n->value<int64_t>();
  if (v < min || v > max) {
    error(key, std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
    return def;
  }
  return v;
}

bool ConfigSection::boolean(const std::string& key, bool def) {
  used_.insert(key);
  if (!has(key)) return def;
  const toml::node* n = tableOf(table_).get(key);
  if (!n->is_boolean()) {
    error(key, "expected true or false");
    return def;
  }
  return *n->value<bool>();
}

std::vector<std::string> ConfigSection::strings(const std::string& key) {
  used_.insert(key);
  std::vector<std::string> out;
  if (!has(key)) return out;
  const toml::array* arr = tableOf(table_).get(key)->as_array();
  if (!arr) {
    error(key, "expected an array of strings");
    return out;
  }
  for (auto& el : *arr) {
    if (!el.is_string()) {
      error(key, "expected an array of strings");
      return {};
    }
    out.push_back(*el.value<std::string>());
  }
  return out;
}

ConfigSection ConfigSection::section(const std::string& key) {
  used_.insert(key);
  if (!has(key)) return ConfigSection(nullptr, qualified(key), file_, errors_);
  const toml::table* t = tableOf(table_).get(key)->as_table();
  if (!t) {
    error(key, "expected a table");
    return ConfigSection(nullptr, qualified(key), file_, errors_);
  }
  return ConfigSection(t, qualified(key), file_, errors_);
}

std::vector<ConfigSection> ConfigSection::tables(const std::string& key) {
  used_.insert(key);
  std::vector<ConfigSection> out;
  if (!has(key)) return out;
  const toml::array* arr = tableOf(table_).get(key)->as_array();
  if (!arr || !arr->is_array_of_tables()) {
    error(key, "expected an array of tables ([[" + qualified(key) + "]])");
    return out;
  }
  for (size_t i = 0; i < arr->size(); ++i)
    out.emplace_back((*arr)[i].as_table(), qualified(key) + "[" + std::to_string(i) + "]", file_,
                     errors_);
  return out;
}

void ConfigSection::finish() {
  if (!table_) return;
  for (auto& [k, v] : tableOf(table_)) {
    std::string key(k.str());
    if (!used_.count(key)) error(key, "unknown key");
  }
}

ConfigDocument::~ConfigDocument() = default;

Result<std::shared_ptr<ConfigDocument>> ConfigDocument::parse(const std::string& text,
                                                              const std::string& name) {
  std::shared_ptr<ConfigDocument> doc(new ConfigDocument());
  doc->impl_ = std::make_unique<Impl>();
  doc->file_ = std::make_shared<const std::string>(name);
  try {
    doc->impl_->table = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return Status::error(name + ":" + std::to_string(e.source().begin.line) + ": " +
                         std::string(e.description()));
  }
  return doc;
}

Result<std::shared_ptr<ConfigDocument>> ConfigDocument::load(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Status::error(file + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file);
}

ConfigSection ConfigDocument::root(ConfigErrors* errors) const {
  return ConfigSection(&impl_->table, "", file_, errors);
}

}  // namespace xl
