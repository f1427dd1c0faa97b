#include "swim/broadcast_queue.hpp"

#include <cmath>
#include <iterator>

namespace chorus::swim {

int retransmit_limit(int retransmit_mult, std::size_t n) {
  const double scale = std::ceil(std::log10(static_cast<double>(n) + 1.0));
  return retransmit_mult * static_cast<int>(scale);
}

void broadcast_queue::count(std::size_t size, int delta) {
  if (delta > 0) {
    ++sizes_[size];
    bytes_ += size;
  } else {
    auto it = sizes_.find(size);
    if (--it->second == 0) sizes_.erase(it);
    bytes_ -= size;
  }
}

broadcast_queue::~broadcast_queue() {
  for (item* it : items_) delete it;
}

void broadcast_queue::erase(set_type::iterator pos, std::vector<std::uint64_t>& finished) {
  item* it = *pos;
  items_.erase(pos);
  count(it->msg.size(), -1);
  if (!it->name.empty()) by_name_.erase(it->name);
  if (it->token) finished.push_back(it->token);
  delete it;
}

void broadcast_queue::push(std::string name, bytes msg, std::uint64_t token, std::vector<std::uint64_t>& finished) {
  if (!name.empty()) {
    if (auto found = by_name_.find(name); found != by_name_.end()) erase(items_.find(found->second), finished);
  }
  count(msg.size(), +1);
  auto* it = new item{0, next_id_++, std::move(name), std::move(msg), token};
  items_.insert(it);
  if (!it->name.empty()) by_name_.emplace(it->name, it);
  while (items_.size() > max_items_) {
    erase(std::prev(items_.end()), finished);
    ++dropped_;
  }
}

std::size_t broadcast_queue::take(std::size_t overhead, std::size_t limit, int transmit_limit, std::vector<bytes>& out,
                                  std::vector<std::uint64_t>& finished) {
  std::size_t used = 0;
  std::vector<set_type::iterator> taken;
  if (items_.empty()) return 0;
  const std::size_t smallest = min_size();
  // The set is ordered by (transmits, length desc, newest): scanning it once
  // and taking whatever still fits is memberlist's tiered selection.
  for (auto it = items_.begin(); it != items_.end(); ++it) {
    if (used + overhead + smallest > limit) break;  // nothing left can fit
    if (used + overhead + (*it)->msg.size() > limit) continue;
    used += overhead + (*it)->msg.size();
    taken.push_back(it);
  }
  for (auto pos : taken) {
    item* x = *pos;
    items_.erase(pos);
    ++x->transmits;
    if (x->transmits >= transmit_limit) {
      count(x->msg.size(), -1);
      out.push_back(std::move(x->msg));
      if (!x->name.empty()) by_name_.erase(x->name);
      if (x->token) finished.push_back(x->token);
      delete x;
    } else {
      out.push_back(x->msg);
      items_.insert(x);
    }
  }
  return used;
}

void broadcast_queue::clear(std::vector<std::uint64_t>& finished) {
  for (item* it : items_) {
    if (it->token) finished.push_back(it->token);
    delete it;
  }
  items_.clear();
  by_name_.clear();
  sizes_.clear();
  bytes_ = 0;
}

}  // namespace chorus::swim
