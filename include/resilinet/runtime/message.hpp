#pragma once
/// \file
/// Message: what the nodes of a distributed deployment say to each other, and its strict
/// binary encoding (the only parser a node exposes to the network).
///
/// Layout (little-endian): a 64-byte header — magic "RSRT", u8 version (1), u8 type, u8
/// reached, u8 reserved (0), u64 request, u32 budget_us, u32 batch, u64 dead, u64 alive, u64
/// delivered, u64 pulled, u64 reserved (0) — then, for an output, u32 rank, rank × u32 dimensions and the float
/// values; for stats and errors, text. A pull, an exit pull and a stats request carry nothing
/// after the header. decode() accepts exactly this and nothing else.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/core/shape.hpp"

namespace resilinet::runtime {

/// What a message asks or answers.
enum class MessageType : std::uint8_t {
  /// "Send me your output for this request": to a node, or to the source of examples.
  pull = 1,
  /// The answer to a pull: a node's output (or the example) with what was seen computing it.
  output = 2,
  /// "Send me your counters" (also the launcher's readiness probe).
  stats_request = 3,
  /// The answer to a stats request: `key=value` words.
  stats = 4,
  /// The answer to a pull that could not be served, with the reason.
  error = 5,
  /// "Send me your early exit's answer for this request": the node answers as to a pull, but
  /// with its exit head's logits (PartitionedNetwork::add_exit) instead of its output.
  exit_pull = 6,
};

/// One message; which fields matter depends on the type (see each field).
struct Message {
  /// What the message is.
  MessageType type = MessageType::pull;
  /// Identifier of the request the message belongs to.
  std::uint64_t request = 0;
  /// Pull and exit pull: microseconds the puller waits for the answer (the node plans its own waits in it).
  std::uint32_t budget_us = 0;
  /// Pull and exit pull: examples in the request (a node whose sources all failed still answers this many).
  std::uint32_t batch = 0;
  /// Output: information from the network input reached this output along alive nodes.
  bool reached = false;
  /// Output: nodes (bit = node index) found failed while answering, here or upstream.
  std::uint64_t dead = 0;
  /// Output: nodes found alive while answering, here or upstream.
  std::uint64_t alive = 0;
  /// Output: links (bit = link index) whose data arrived while answering.
  std::uint64_t delivered = 0;
  /// Output: links a pull was sent on while answering (not when the source was unconnected).
  std::uint64_t pulled = 0;
  /// Output: shape of the values (batch first).
  Shape shape;
  /// Output: the values, row-major.
  std::vector<float> values;
  /// Stats and error: the text.
  std::string text;
};

/// Size of the fixed header every message starts with.
inline constexpr std::size_t message_header_bytes = 64;

/// Byte offsets of the header's fields and of an output's shape (the layout in the file comment).
namespace message_offset {
/// "RSRT".
inline constexpr std::size_t magic = 0;
/// u8 version.
inline constexpr std::size_t version = 4;
/// u8 MessageType.
inline constexpr std::size_t type = 5;
/// u8 reached flag, then a reserved u8.
inline constexpr std::size_t reached = 6;
/// u64 request id.
inline constexpr std::size_t request = 8;
/// u32 budget in microseconds.
inline constexpr std::size_t budget_us = 16;
/// u32 batch size.
inline constexpr std::size_t batch = 20;
/// u64 bits of the nodes seen dead.
inline constexpr std::size_t dead = 24;
/// u64 bits of the nodes seen alive.
inline constexpr std::size_t alive = 32;
/// u64 bits of the links delivered.
inline constexpr std::size_t delivered = 40;
/// u64 bits of the links pulled.
inline constexpr std::size_t pulled = 48;
/// u64 reserved, 0.
inline constexpr std::size_t reserved = 56;
/// An output's u32 rank, right after the header.
inline constexpr std::size_t rank = message_header_bytes;
/// An output's first u32 dimension.
inline constexpr std::size_t dims = rank + 4;
}  // namespace message_offset

/// Bytes of an output message carrying values of `shape` (header, rank, dimensions, floats).
inline std::size_t encoded_output_size(const Shape& shape) {
  return message_offset::dims + 4 * shape.rank() + 4 * shape.numel();
}

/// Bytes encode(m) produces.
inline std::size_t encoded_size(const Message& m) {
  if (m.type == MessageType::output) return encoded_output_size(m.shape);
  if (m.type == MessageType::stats || m.type == MessageType::error) return message_header_bytes + m.text.size();
  return message_header_bytes;
}

namespace detail {

inline constexpr char message_magic[4] = {'R', 'S', 'R', 'T'};
inline constexpr std::uint8_t message_version = 1;

template <class U>
void append(std::string& out, U v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class U>
U read_at(const char* p, std::size_t offset) {
  U v;
  std::memcpy(&v, p + offset, sizeof v);
  return v;
}

}  // namespace detail

/// The bytes of `m` (the layout in the file comment).
inline std::string encode(const Message& m) {
  std::string out;
  out.reserve(encoded_size(m));
  out.append(detail::message_magic, 4);
  detail::append<std::uint8_t>(out, detail::message_version);
  detail::append<std::uint8_t>(out, std::uint8_t(m.type));
  detail::append<std::uint8_t>(out, m.reached ? 1 : 0);
  detail::append<std::uint8_t>(out, 0);
  detail::append(out, m.request);
  detail::append(out, m.budget_us);
  detail::append(out, m.batch);
  for (std::uint64_t bits : {m.dead, m.alive, m.delivered, m.pulled}) detail::append(out, bits);
  detail::append<std::uint64_t>(out, 0);  // reserved
  if (m.type == MessageType::output) {
    require<ShapeError>(m.shape.numel() == m.values.size(), "encode: shape ", m.shape, " holds ",
                        m.shape.numel(), " values, not ", m.values.size());
    detail::append<std::uint32_t>(out, std::uint32_t(m.shape.rank()));
    for (std::size_t d = 0; d < m.shape.rank(); ++d) detail::append<std::uint32_t>(out, std::uint32_t(m.shape[d]));
    out.append(reinterpret_cast<const char*>(m.values.data()), 4 * m.values.size());
  } else if (m.type == MessageType::stats || m.type == MessageType::error) {
    out += m.text;
  }
  return out;
}

/// Parses `size` bytes into a message; throws FormatError naming the first problem (wrong
/// magic, version or type, a payload where none belongs, a shape that does not match the
/// values that follow, more than `max_bytes` bytes).
inline Message decode(const void* data, std::size_t size, std::size_t max_bytes) {
  const char* p = static_cast<const char*>(data);
  require<FormatError>(size <= max_bytes, "message of ", size, " bytes exceeds the limit of ",
                       max_bytes);
  require<FormatError>(size >= message_header_bytes, "message of ", size,
                       " bytes is shorter than the ", message_header_bytes, "-byte header");
  require<FormatError>(std::memcmp(p, detail::message_magic, 4) == 0,
                       "message does not start with RSRT: '", resilinet::quoted(std::string(p, 4)), "'");
  const auto version = detail::read_at<std::uint8_t>(p, message_offset::version);
  require<FormatError>(version == detail::message_version, "message version ", int(version),
                       " (expected ", int(detail::message_version), ")");
  const auto type = detail::read_at<std::uint8_t>(p, message_offset::type);
  require<FormatError>(type >= 1 && type <= 6, "unknown message type ", int(type));
  const auto reached = detail::read_at<std::uint8_t>(p, message_offset::reached);
  require<FormatError>(reached <= 1 && detail::read_at<std::uint8_t>(p, message_offset::reached + 1) == 0,
                       "message flags ", int(reached), "/", int(detail::read_at<std::uint8_t>(p, message_offset::reached + 1)),
                       " are not 0/1 and 0");
  Message m;
  m.type = MessageType(type);
  m.reached = reached == 1;
  m.request = detail::read_at<std::uint64_t>(p, message_offset::request);
  m.budget_us = detail::read_at<std::uint32_t>(p, message_offset::budget_us);
  m.batch = detail::read_at<std::uint32_t>(p, message_offset::batch);
  m.dead = detail::read_at<std::uint64_t>(p, message_offset::dead);
  m.alive = detail::read_at<std::uint64_t>(p, message_offset::alive);
  m.delivered = detail::read_at<std::uint64_t>(p, message_offset::delivered);
  m.pulled = detail::read_at<std::uint64_t>(p, message_offset::pulled);
  require<FormatError>(detail::read_at<std::uint64_t>(p, message_offset::reserved) == 0, "reserved header bytes are not 0");
  std::size_t at = message_header_bytes;
  const std::size_t rest = size - at;
  switch (m.type) {
    case MessageType::pull:
    case MessageType::exit_pull:
    case MessageType::stats_request:
      require<FormatError>(rest == 0, type == 1 ? "a pull" : type == 6 ? "an exit pull" : "a stats request", " carries ",
                           rest, " bytes after its header");
      return m;
    case MessageType::stats:
    case MessageType::error:
      m.text.assign(p + at, rest);
      return m;
    case MessageType::output:
      break;
  }
  require<FormatError>(rest >= 4, "output message ends before its rank");
  const auto rank = detail::read_at<std::uint32_t>(p, at);
  at += 4;
  require<FormatError>(rank >= 1 && rank <= Shape::max_rank, "output rank ", rank, " is not in 1..",
                       Shape::max_rank);
  require<FormatError>(size - at >= 4 * std::size_t(rank), "output message ends inside its shape");
  std::vector<std::size_t> dims;
  std::uint64_t count = 1;
  for (std::uint32_t d = 0; d < rank; ++d, at += 4) {
    const auto dim = detail::read_at<std::uint32_t>(p, at);
    require<FormatError>(dim >= 1, "output dimension ", d, " is 0");
    require<FormatError>(count <= max_bytes / 4 / dim, "output dimension ", d, " of ", dim,
                         " makes more values than ", max_bytes, " bytes hold");
    count *= dim;
    dims.push_back(dim);
  }
  require<FormatError>(size - at == 4 * count, "output shape holds ", count, " values but ",
                       size - at, " bytes follow");
  m.shape = Shape(dims);
  m.values.resize(count);
  std::memcpy(m.values.data(), p + at, 4 * count);
  return m;
}

}  // namespace resilinet::runtime
