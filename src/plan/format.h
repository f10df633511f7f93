// Plan file layout constants shared by the writer and the reader (format v1).
// See docs/plan-format.md for the full description.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace kiln::plan::format {

inline constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'P', 'L', 'A', 'N'};

// Fixed header (little-endian):
//   0  magic[8]          8  format_version u32   12 header_size u32   16 kiln_version u32
//   20 backend u8        21 hw_compat u8          22 flags u16         24 section_count u32
//   28 reserved u32 (0)
// then section_count entries of kSectionEntrySize bytes, then an xxh64 of everything before it.
inline constexpr size_t kFixedHeaderSize = 32;
inline constexpr size_t kSectionEntrySize = 32;  // kind u32, reserved u32, offset, size, xxh64
inline constexpr size_t kHeaderChecksumSize = 8;
inline constexpr uint32_t kMaxSections = 16;

inline constexpr size_t header_size(uint32_t sections) {
  return kFixedHeaderSize + kSectionEntrySize * sections + kHeaderChecksumSize;
}

inline constexpr uint16_t kFlagVersionCompatible = 1u << 0;
inline constexpr uint16_t kFlagRefittable = 1u << 1;
inline constexpr uint16_t kKnownFlags = kFlagVersionCompatible | kFlagRefittable;

enum SectionKind : uint32_t { kSectionMetadata = 1, kSectionWeights = 2 };

inline constexpr size_t kMetadataAlign = 8;
// Weight entries start at file offsets that are multiples of this (mappable, uploadable as is).
inline constexpr size_t kWeightAlign = 256;
// Longest postfix encoding of one symbolic expression (tokens, two per expression node). Bounds
// the recursion depth of SymExpr's tree walks on plans read from disk.
inline constexpr size_t kMaxExprTokens = 4096;

inline constexpr uint64_t kChecksumSeed = 0;

inline void put_u16(uint8_t* p, uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint16_t get_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline constexpr size_t align_up(size_t v, size_t a) {
  return (v + a - 1) / a * a;
}

}  // namespace kiln::plan::format
