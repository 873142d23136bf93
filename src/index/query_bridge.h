// The query pipeline's two views of an index: names for the binder
// (TagResolver) and bitmaps for the planner (BitmapSource). Internal; used by
// index_query.cc and by benchmarks that time the pipeline's stages.
#ifndef TAGINDEX_INDEX_QUERY_BRIDGE_H_
#define TAGINDEX_INDEX_QUERY_BRIDGE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/index_state.h"
#include "query/binder.h"
#include "query/planner.h"
#include "util/edit_distance.h"
#include "util/utf8.h"

namespace tagindex::internal {

// The binder's view of the catalog of one pinned version (held by the caller).
class CatalogResolver : public query::TagResolver {
 public:
  explicit CatalogResolver(const internal::Catalog& catalog) : catalog_(catalog) {}

  std::vector<TagRef> FindByName(std::string_view name) const override {
    std::vector<TagRef> out;
    for (const TagEntry* t : catalog_.FindByName(name)) {
      out.push_back({t->id, t->category, t->name});
    }
    return out;
  }
  std::optional<TagRef> Find(std::string_view category, std::string_view name) const override {
    const TagEntry* t = catalog_.Find(category, name);
    if (t == nullptr) return std::nullopt;
    return TagRef{t->id, t->category, t->name};  // views into the catalog
  }
  std::optional<CategoryRef> FindCategory(std::string_view category) const override {
    if (category.empty()) return std::nullopt;
    const internal::CategoryEntry* c = catalog_.FindCategory(category);
    if (c == nullptr) return std::nullopt;
    CategoryRef ref;
    ref.exclusive = c->exclusive;
    for (TagId id : c->tags) {
      if (const TagEntry* t = catalog_.Get(id)) ref.tags.push_back({t->id, t->category, t->name});
    }
    return ref;
  }
  std::vector<std::string> Suggest(std::string_view name) const override {
    return catalog_.Suggest(name);
  }
  std::optional<AttributeRef> FindAttribute(std::string_view name) const override {
    if (attributes_ == nullptr) return std::nullopt;
    const AttributeEntry* a = attributes_->Find(name);
    if (a == nullptr) return std::nullopt;
    return AttributeRef{a->id, a->type, a->scale};
  }
  std::vector<std::string> SuggestSubject(std::string_view name) const override {
    std::vector<std::string> names;
    for (const auto& [c, entry] : catalog_.categories()) names.push_back(c);
    if (attributes_ != nullptr) {
      for (std::string& a : attributes_->Names()) names.push_back(std::move(a));
    }
    return util::ClosestMatches(std::string(name), names);
  }
  std::optional<SegmentRef> FindSegment(std::string_view name) const override {
    if (segments_ == nullptr) return std::nullopt;
    const SavedSegmentEntry* e = segments_->Find(util::TrimUnicodeSpace(name));
    if (e == nullptr) return std::nullopt;
    SegmentRef ref;
    if (e->dynamic) {
      ref.query = e->query;
    } else {
      ref.tag = TagId{kSegmentTagBase + e->id};
    }
    return ref;
  }
  std::vector<std::string> SuggestSegment(std::string_view name) const override {
    if (segments_ == nullptr) return {};
    return util::ClosestMatches(std::string(name), segments_->Names());
  }

 private:
  const internal::Catalog& catalog_;
  const internal::AttributeTable* attributes_ = nullptr;
  const internal::SavedSegmentTable* segments_ = nullptr;

 public:
  CatalogResolver(const internal::Catalog& catalog, const internal::AttributeTable& attributes,
                  const internal::SavedSegmentTable* segments = nullptr)
      : catalog_(catalog), attributes_(&attributes), segments_(segments) {}
};

// The planner's view of the data: one pinned version, held by the caller.
class StateSource : public query::BitmapSource {
 public:
  explicit StateSource(const Version& state) : state_(state) {}
  const Bitmap* TagBitmap(TagId tag) const override {
    if (tag.value >= kSegmentTagBase) {  // a static saved segment (binder: 人群:name)
      const SavedSegmentEntry* e = state_.segments.Get(tag.value - kSegmentTagBase);
      return e == nullptr || e->dynamic ? nullptr : &e->members;
    }
    const TagEntry* t = state_.catalog.Get(tag);
    return t == nullptr ? nullptr : &t->bitmap;
  }
  const Bitmap& Universe() const override { return state_.universe(); }
  const Bsi* AttributeColumn(AttributeId attribute) const override {
    const AttributeEntry* a = state_.attributes.Get(attribute);
    return a == nullptr ? nullptr : &a->column;
  }

 private:
  const Version& state_;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_QUERY_BRIDGE_H_
