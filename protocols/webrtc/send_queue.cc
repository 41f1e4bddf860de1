#include "webrtc/send_queue.h"

namespace xl::webrtc {

SendQueue::SendQueue(UdpSocket& socket, FlushTimer& timer)
    : socket_(socket), timer_(timer), area_(new uint8_t[kBytes]) {}

SendQueue::~SendQueue() = default;

void SendQueue::begin(Owner* owner, const UdpAddress& to, bool video, TcpPath* tcp) {
  if (n_ == kEntries) flush();
  Item& it = items_[n_++];
  it.owner = owner;
  it.tcp = tcp;
  it.to = to;
  it.first = static_cast<uint32_t>(datagrams_);
  it.count = 0;
  it.video = video;
  open_ = true;
}

uint8_t* SendQueue::next(size_t len) {
  if (len + kSrtpMaxTrailer > kBytes) return nullptr;
  if (used_ + len + kSrtpMaxTrailer > kBytes || datagrams_ == kDatagrams) {
    // Full: everything leaves, the open entry with what it has so far, and goes on afresh.
    Item open = items_[n_ - 1];
    flush();
    begin(open.owner, open.to, open.video, open.tcp);
  }
  return area_.get() + used_;
}

void SendQueue::add(size_t len) {
  iov_[datagrams_++] = iovec{area_.get() + used_, len};
  used_ += len;
  ++items_[n_ - 1].count;
}

void SendQueue::end() {
  open_ = false;
  Item& it = items_[n_ - 1];
  if (it.count == 0) {
    --n_;
    return;
  }
  if (it.tcp) return sendTcp();
  if (!scheduled()) timer_.scheduleSoon(*this);
}

void SendQueue::sendTcp() {
  Item& it = items_[n_ - 1];
  const size_t sent = it.tcp->send(std::span<const iovec>(&iov_[it.first], it.count));
  if (it.owner) it.owner->onSent(outcome(it, sent));
  // The last entry: its bytes and datagrams are the last ones queued.
  used_ = static_cast<size_t>(static_cast<uint8_t*>(iov_[it.first].iov_base) - area_.get());
  datagrams_ = it.first;
  --n_;
}

SendQueue::Outcome SendQueue::outcome(const Item& it, size_t sent) const {
  Outcome o{it.count, sent, 0, it.video};
  for (size_t i = 0; i < sent && i < it.count; ++i) o.bytes += iov_[it.first + i].iov_len;
  return o;
}

void SendQueue::flush() {
  if (n_ == 0) return;
  // An entry still open over TCP (a full queue in the middle of its frame) goes out first.
  if (open_ && items_[n_ - 1].tcp && items_[n_ - 1].count) sendTcp();
  size_t m = 0;
  for (size_t i = 0; i < n_; ++i) {
    const Item& it = items_[i];
    if (!it.owner || it.tcp || it.count == 0) continue;
    batch_[m] = UdpBatchEntry{&it.to, std::span<const iovec>(&iov_[it.first], it.count), 0};
    batchOf_[m++] = static_cast<uint16_t>(i);
  }
  if (m > 0) {
    socket_.sendMany(std::span<UdpBatchEntry>(batch_.data(), m));
    ++flushes_;
  }
  // Emptied before the owners hear: none of them sends from onSent, but the queue is reusable.
  n_ = datagrams_ = used_ = 0;
  open_ = false;
  for (size_t k = 0; k < m; ++k) {
    const Item& it = items_[batchOf_[k]];
    it.owner->onSent(outcome(it, batch_[k].sent));
  }
}

void SendQueue::forget(const Owner* owner) {
  for (size_t i = 0; i < n_; ++i)
    if (items_[i].owner == owner) items_[i].owner = nullptr;
}

}  // namespace xl::webrtc
