// Safetensors: exact round trips, the reference layout, every malformed-header error (each must
// name the file and the tensor), sharded checkpoints, fingerprints, atomic writes, and the
// torch bridge (zero-copy views, exact conversions, lifetimes, copy-on-write edits).
#include "catch_torch.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "editlab/model/safetensors.h"
#include "editlab/model/safetensors_torch.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"

namespace fs = std::filesystem;
using Catch::Contains;
using editlab::Checkpoint;
using editlab::DType;
using editlab::SafetensorsFile;
using editlab::TensorToWrite;

// Both the type (editlab::Error) and the message.
#define REQUIRE_ERROR(expr, matcher)         \
  do {                                       \
    REQUIRE_THROWS_AS(expr, editlab::Error); \
    REQUIRE_THROWS_WITH(expr, matcher);      \
  } while (0)

namespace {

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("editlab_safetensors_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path operator/(const std::string& name) const { return path / name; }
};

std::vector<unsigned char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// A file with `header` (padded to 8 with spaces) and `data_size` zero bytes of data; the length
// prefix is `declared_length` when given, so that it can lie.
void write_raw(const fs::path& path, std::string header, std::size_t data_size,
               std::optional<std::uint64_t> declared_length = std::nullopt) {
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::uint64_t length = declared_length.value_or(header.size());
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>((length >> (8 * i)) & 0xff);
  write_bytes(path, bytes + header + std::string(data_size, '\0'));
}

template <typename T>
TensorToWrite tensor_of(const std::string& name, DType dtype, std::vector<int64_t> shape,
                        const std::vector<T>& values) {
  return {name, dtype, std::move(shape), values.data(), values.size() * sizeof(T)};
}

void write_two_tensor_file(const fs::path& path, const std::vector<float>& a, const std::vector<float>& b) {
  const std::vector<TensorToWrite> tensors{tensor_of("a", DType::F32, {2, 2}, a), tensor_of("b", DType::F32, {2}, b)};
  editlab::write_safetensors(path, tensors);
}

bool same_bytes(const editlab::TensorView& view, const void* expected, std::size_t nbytes) {
  // memcmp's pointers must not be null even for 0 bytes (UBSan), and an empty tensor has none.
  return view.nbytes == nbytes && (nbytes == 0 || std::memcmp(view.data, expected, nbytes) == 0);
}

}  // namespace

TEST_CASE("dtype names and sizes follow the safetensors spelling", "[safetensors]") {
  for (DType dtype : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16, DType::I8,
                      DType::U8, DType::BOOL}) {
    REQUIRE(editlab::parse_dtype(editlab::dtype_name(dtype)) == dtype);
  }
  CHECK(editlab::dtype_name(DType::BF16) == "BF16");
  CHECK(editlab::dtype_size(DType::F64) == 8);
  CHECK(editlab::dtype_size(DType::BF16) == 2);
  CHECK(editlab::dtype_size(DType::BOOL) == 1);
  CHECK_FALSE(editlab::parse_dtype("F8_E4M3").has_value());
  CHECK_FALSE(editlab::parse_dtype("f32").has_value());
}

TEST_CASE("write then open round-trips bytes, names, shapes, dtypes and metadata exactly", "[safetensors]") {
  TempDir dir;
  const std::vector<float> f32{1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
  const std::vector<std::uint16_t> f16{0x3c00, 0xc000, 0x7bff};           // 1, -2, 65504
  const std::vector<std::uint16_t> bf16{0x3f80, 0x4049, 0xff80, 0x0001};  // 1, 3.14, -inf, tiny
  const std::vector<int64_t> i64{-1, 1LL << 40};
  const std::vector<float> scalar{42.0f};
  const std::vector<TensorToWrite> tensors{tensor_of("h.0.attn.c_attn.weight", DType::F32, {2, 3}, f32),
                                           tensor_of("half", DType::F16, {3}, f16),
                                           tensor_of("brain", DType::BF16, {2, 2}, bf16),
                                           tensor_of("ids", DType::I64, {2}, i64),
                                           tensor_of("scalar", DType::F32, {}, scalar),
                                           TensorToWrite{"empty", DType::F32, {0, 4}, nullptr, 0}};
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"editlab", "ünïcode ok"}};
  editlab::write_safetensors(dir / "m.safetensors", tensors, metadata);

  const auto file = SafetensorsFile::open(dir / "m.safetensors");
  CHECK(file->metadata() == metadata);
  REQUIRE(file->tensors().size() == tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {  // offset order == the order written
    const editlab::TensorView& view = file->tensors()[i];
    INFO(tensors[i].name);
    CHECK(view.name == tensors[i].name);
    CHECK(view.dtype == tensors[i].dtype);
    CHECK(view.shape == tensors[i].shape);
    CHECK(same_bytes(view, tensors[i].data, tensors[i].nbytes));
    CHECK(file->find(tensors[i].name) == &view);
  }
  CHECK(file->find("scalar")->numel() == 1);
  CHECK(file->find("empty")->numel() == 0);
  CHECK(file->find("missing") == nullptr);
  CHECK(file->file_size() == fs::file_size(dir / "m.safetensors"));
}

TEST_CASE("the header is padded with spaces to 8 bytes and tensors are packed in order", "[safetensors]") {
  TempDir dir;
  const std::vector<std::uint16_t> three_halves{1, 2, 3};
  const std::vector<float> floats{1.0f, 2.0f};
  const std::vector<TensorToWrite> tensors{tensor_of("z_first", DType::F16, {3}, three_halves),
                                           tensor_of("a_second", DType::F32, {2}, floats)};
  editlab::write_safetensors(dir / "p.safetensors", tensors, {{"k", "v"}});
  const auto bytes = read_bytes(dir / "p.safetensors");
  std::uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  CHECK(length % 8 == 0);
  CHECK(bytes.size() == 8 + length + 6 + 8);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(length));
  CHECK(header.rfind(R"({"__metadata__":{"k":"v"},"z_first":{"dtype":"F16","shape":[3],)"
                     R"("data_offsets":[0,6]},"a_second":{"dtype":"F32","shape":[2],)"
                     R"("data_offsets":[6,14]}})",
                     0) == 0);
  CHECK(header.find_first_not_of(' ', header.find_last_of('}') + 1) == std::string::npos);

  const auto file = SafetensorsFile::open(dir / "p.safetensors");
  CHECK(file->header_size() == length);
  CHECK(file->tensors()[0].name == "z_first");  // layout order, not name order
  // Packed without padding, so "a_second" sits 6 bytes in: not 4-byte aligned.
  CHECK(reinterpret_cast<std::uintptr_t>(file->tensors()[1].data) % 4 == 2);
}

TEST_CASE("write_safetensors rejects bad tensors and leaves nothing behind", "[safetensors]") {
  TempDir dir;
  const std::vector<float> two{1.0f, 2.0f};
  const fs::path path = dir / "w.safetensors";
  SECTION("duplicate names") {
    const std::vector<TensorToWrite> tensors{tensor_of("x", DType::F32, {2}, two),
                                             tensor_of("x", DType::F32, {2}, two)};
    REQUIRE_ERROR(editlab::write_safetensors(path, tensors), Contains("w.safetensors") && Contains("'x'"));
  }
  SECTION("byte count that does not match the shape") {
    const std::vector<TensorToWrite> tensors{tensor_of("y", DType::F32, {3}, two)};
    REQUIRE_ERROR(editlab::write_safetensors(path, tensors), Contains("'y'") && Contains("12 bytes"));
  }
  SECTION("negative dimension") {
    const std::vector<TensorToWrite> tensors{tensor_of("n", DType::F32, {-2}, two)};
    REQUIRE_ERROR(editlab::write_safetensors(path, tensors), Contains("'n'") && Contains("negative"));
  }
  SECTION("a directory that does not exist") {
    const std::vector<TensorToWrite> tensors{tensor_of("a", DType::F32, {2}, two)};
    REQUIRE_ERROR(editlab::write_safetensors(dir / "no" / "x.safetensors", tensors), Contains("x.safetensors"));
  }
  CHECK(fs::is_empty(dir.path));
}

namespace {

// One malformed file per SECTION; every error must name it.
struct MalformedFile {
  TempDir dir;
  fs::path path = dir / "bad.safetensors";
  const std::string f32_2x2 = R"("dtype":"F32","shape":[2,2])";
  Catch::Matchers::StdString::ContainsMatcher names_file = Contains("bad.safetensors");
  std::shared_ptr<SafetensorsFile> open() const { return SafetensorsFile::open(path); }
};

}  // namespace

TEST_CASE_METHOD(MalformedFile, "truncated files and malformed JSON headers are errors naming the file",
                 "[safetensors]") {
  SECTION("empty file") {
    write_bytes(path, "");
    REQUIRE_ERROR(open(), names_file && Contains("0 bytes"));
  }
  SECTION("shorter than the 8-byte length") {
    write_bytes(path, std::string("\x10\0\0\0\0", 5));
    REQUIRE_ERROR(open(), names_file && Contains("5 bytes"));
  }
  SECTION("header length larger than the file") {
    write_raw(path, "{}", 0, 1000);
    REQUIRE_ERROR(open(), names_file && Contains("header length 1000"));
  }
  SECTION("absurd header length") {
    write_raw(path, "{}", 0, ~std::uint64_t{0});
    REQUIRE_ERROR(open(), names_file && Contains("header length"));
  }
  SECTION("not JSON") {
    write_raw(path, R"({"w": {"dtype": )", 0);
    REQUIRE_ERROR(open(), names_file && Contains("invalid JSON"));
  }
  SECTION("header not an object") {
    write_raw(path, "[1, 2]", 0);
    REQUIRE_ERROR(open(), names_file && Contains("JSON object"));
  }
  SECTION("a tensor name given twice") {
    write_raw(path,
              R"({"w": {)" + f32_2x2 + R"(,"data_offsets":[0,16]}, "w": {)" + f32_2x2 + R"(,"data_offsets":[16,32]}})",
              32);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w' appears twice"));
  }
  SECTION("a key given twice inside an entry") {
    write_raw(path, R"({"w": {)" + f32_2x2 + R"(,"dtype":"F16","data_offsets":[0,16]}})", 16);
    REQUIRE_ERROR(open(), names_file && Contains("'dtype' appears twice in 'w'"));
  }
  SECTION("__metadata__ that is not string to string") {
    write_raw(path, R"({"__metadata__": {"epoch": 3}})", 0);
    REQUIRE_ERROR(open(), names_file && Contains("__metadata__") && Contains("'epoch'"));
  }
  SECTION("JSON nested deeper than the limit (util/json_file.h)") {
    write_raw(path, R"({"w": )" + std::string(600, '[') + std::string(600, ']') + "}", 0);
    REQUIRE_ERROR(open(), names_file && Contains("deeper than 512"));
  }
}

TEST_CASE_METHOD(MalformedFile, "malformed tensor entries are errors naming the file and the tensor", "[safetensors]") {
  SECTION("entry not an object") {
    write_raw(path, R"({"w": [0, 16]})", 16);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'"));
  }
  SECTION("entry without dtype") {
    write_raw(path, R"({"w": {"shape":[2,2],"data_offsets":[0,16]}})", 16);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("missing 'dtype'"));
  }
  SECTION("shape of the wrong type") {
    write_raw(path, R"({"w": {"dtype":"F32","shape":"2x2","data_offsets":[0,16]}})", 16);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("'shape'"));
  }
  SECTION("fractional dimension") {
    write_raw(path, R"({"w": {"dtype":"F32","shape":[2.5],"data_offsets":[0,10]}})", 10);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("'shape'"));
  }
  SECTION("data_offsets of the wrong type") {
    write_raw(path, R"({"w": {)" + f32_2x2 + R"(,"data_offsets":[0,16,32]}})", 16);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("'data_offsets'"));
  }
  SECTION("unknown dtype") {
    write_raw(path, R"({"w": {"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("unknown dtype 'F8_E4M3'"));
  }
  SECTION("negative dimension") {
    write_raw(path, R"({"w": {"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}})", 16);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("negative dimension -2"));
  }
  SECTION("shape product that does not match the byte range") {
    write_raw(path, R"({"w": {"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})", 16);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("needs 24 bytes"));
  }
  SECTION("shape product that overflows") {
    write_raw(path, R"({"w": {"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})", 0);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("2^64"));
  }
  SECTION("a zero-size tensor whose other dimensions multiply past 2^63") {
    write_raw(path, R"({"w": {"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}})", 0);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("2^63"));
  }
  SECTION("a zero-size tensor whose numel() would overflow int64 on the way (2^32 x 2^31 x 0)") {
    write_raw(path, R"({"w": {"dtype":"U8","shape":[4294967296,2147483648,0],"data_offsets":[0,0]}})", 0);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("2^63"));
  }
  SECTION("offsets that begin after they end") {
    write_raw(path, R"({"w": {"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 16);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("[8, 4)"));
  }
}

TEST_CASE_METHOD(MalformedFile, "tensor byte ranges must tile the data section: no overlap, gap or tail",
                 "[safetensors]") {
  SECTION("offsets beyond the data section") {
    write_raw(path, R"({"w": {)" + f32_2x2 + R"(,"data_offsets":[0,16]}})", 12);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'w'") && Contains("beyond the data section"));
  }
  SECTION("overlapping ranges") {
    write_raw(path,
              R"({"a": {)" + f32_2x2 + R"(,"data_offsets":[0,16]}, "b": {)" + f32_2x2 + R"(,"data_offsets":[8,24]}})",
              24);
    REQUIRE_ERROR(open(), names_file && Contains("tensor 'b'") && Contains("overlap tensor 'a'"));
  }
  SECTION("a gap between tensors (the holes policy)") {
    write_raw(path,
              R"({"a": {)" + f32_2x2 + R"(,"data_offsets":[0,16]}, "b": {)" + f32_2x2 + R"(,"data_offsets":[20,36]}})",
              36);
    REQUIRE_ERROR(open(), names_file && Contains("4 unused bytes before tensor 'b'"));
  }
  SECTION("trailing bytes after the last tensor") {
    write_raw(path, R"({"a": {)" + f32_2x2 + R"(,"data_offsets":[0,16]}})", 20);
    REQUIRE_ERROR(open(), names_file && Contains("4 trailing bytes"));
  }
}

TEST_CASE("files without tensors, and zero-size tensors, are valid", "[safetensors]") {
  TempDir dir;
  write_raw(dir / "none.safetensors", "{}", 0);
  CHECK(SafetensorsFile::open(dir / "none.safetensors")->tensors().empty());
  write_raw(dir / "zero.safetensors",
            R"({"e": {"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
            R"( "w": {"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
            2);
  const auto file = SafetensorsFile::open(dir / "zero.safetensors");
  REQUIRE(file->tensors().size() == 2);
  CHECK(file->tensors()[0].name == "e");
  // A 0 dimension makes the size 0 bytes even when the dimensions before it overflow 2^64 bytes
  // (8 x 2^31 x 2^31), as long as they multiply within int64.
  write_raw(dir / "wide.safetensors",
            R"({"e": {"dtype":"F64","shape":[2147483648,2147483648,0],"data_offsets":[0,0]}})", 0);
  const auto wide = SafetensorsFile::open(dir / "wide.safetensors");
  CHECK(wide->tensors()[0].numel() == 0);
  CHECK(wide->tensors()[0].nbytes == 0);
}

namespace {

// A sharded model: shard 1 holds a and b, shard 2 holds c; the index lists all three.
struct ShardedModel {
  TempDir dir;
  std::vector<float> a{1, 2, 3, 4}, b{5, 6}, c{7, 8, 9};
  std::string shard1 = "model-00001-of-00002.safetensors";
  std::string shard2 = "model-00002-of-00002.safetensors";

  ShardedModel() {
    write_two_tensor_file(dir / shard1, a, b);
    const std::vector<TensorToWrite> second{tensor_of("c", DType::F32, {3}, c)};
    editlab::write_safetensors(dir / shard2, second);
    write_index(R"({"a": ")" + shard1 + R"(", "b": ")" + shard1 + R"(", "c": ")" + shard2 + R"("})");
  }
  void write_index(const std::string& weight_map) const {
    write_bytes(dir / "model.safetensors.index.json",
                R"({"metadata": {"total_size": 36}, "weight_map": )" + weight_map + "}");
  }
};

}  // namespace

TEST_CASE("a sharded checkpoint loads every tensor through its index", "[safetensors]") {
  ShardedModel model;
  const Checkpoint checkpoint = Checkpoint::open_dir(model.dir.path);
  REQUIRE(checkpoint.files().size() == 2);
  CHECK(checkpoint.files()[0]->path().filename() == model.shard1);
  std::vector<std::string> names;
  for (const auto* view : checkpoint.tensors()) names.push_back(view->name);
  CHECK(names == std::vector<std::string>({"a", "b", "c"}));
  REQUIRE(checkpoint.find("c") != nullptr);
  CHECK(same_bytes(*checkpoint.find("c"), model.c.data(), 12));
  CHECK(checkpoint.file_of("c") == checkpoint.files()[1]);
  CHECK(checkpoint.file_of("a") == checkpoint.files()[0]);
  CHECK(checkpoint.file_of("zzz") == nullptr);
  CHECK(checkpoint.find("zzz") == nullptr);
  CHECK(checkpoint.total_bytes() == 36);

  // The index wins over a model.safetensors beside it.
  write_two_tensor_file(model.dir / "model.safetensors", model.a, model.b);
  CHECK(Checkpoint::open_dir(model.dir.path).files().size() == 2);
  fs::remove(model.dir / "model.safetensors.index.json");
  CHECK(Checkpoint::open_dir(model.dir.path).files().size() == 1);
}

TEST_CASE("a directory without weights is an error naming both expected files", "[safetensors]") {
  TempDir dir;
  REQUIRE_ERROR(Checkpoint::open_dir(dir.path),
                Contains(dir.path.string()) && Contains("model.safetensors.index.json"));
  REQUIRE_ERROR(Checkpoint::open_dir(dir / "nope"), Contains("not a directory"));
}

TEST_CASE("index errors name the index, the shard and the tensor", "[safetensors]") {
  ShardedModel model;
  const auto open = [&] { return Checkpoint::open_dir(model.dir.path); };
  const auto names_index = Contains("model.safetensors.index.json");
  const std::string s1 = model.shard1, s2 = model.shard2;

  SECTION("a weight_map tensor missing from its shard") {
    model.write_index(R"({"a":")" + s1 + R"(","b":")" + s1 + R"(","c":")" + s2 + R"(","d":")" + s2 + R"("})");
    REQUIRE_ERROR(open(), names_index && Contains("tensor 'd'") && Contains(s2));
  }
  SECTION("a shard file that does not exist") {
    model.write_index(R"({"a":")" + s1 + R"(","b":")" + s1 + R"(","c":"model-00003.safetensors"})");
    REQUIRE_ERROR(open(), names_index && Contains("tensor 'c'") && Contains("model-00003.safetensors") &&
                              Contains("does not exist"));
  }
  SECTION("a tensor in two shards") {
    const std::vector<TensorToWrite> second{tensor_of("a", DType::F32, {3}, model.c)};
    editlab::write_safetensors(model.dir / s2, second);
    model.write_index(R"({"a":")" + s1 + R"(","b":")" + s2 + R"("})");
    REQUIRE_ERROR(open(), names_index && Contains("tensor 'a' is in two shards") && Contains(s1) && Contains(s2));
  }
  SECTION("a shard tensor that the weight_map does not list") {
    model.write_index(R"({"a":")" + s1 + R"(","c":")" + s2 + R"("})");
    REQUIRE_ERROR(open(), names_index && Contains("tensor 'b'") && Contains("does not list"));
  }
  SECTION("a tensor listed under the wrong shard") {
    model.write_index(R"({"a":")" + s1 + R"(","b":")" + s2 + R"(","c":")" + s2 + R"("})");
    REQUIRE_ERROR(open(), names_index && Contains("tensor 'b'") && Contains("but it is in shard"));
  }
  SECTION("a tensor listed twice") {
    model.write_index(R"({"a":")" + s1 + R"(","a":")" + s2 + R"(","b":")" + s1 + R"("})");
    REQUIRE_ERROR(open(), names_index && Contains("'a' appears twice in 'weight_map'"));
  }
  SECTION("malformed index") {
    write_bytes(model.dir / "model.safetensors.index.json", R"({"weight_map": )");
    REQUIRE_ERROR(open(), names_index && Contains("invalid JSON"));
  }
  SECTION("an index without a weight_map") {
    write_bytes(model.dir / "model.safetensors.index.json", R"({"metadata": {}})");
    REQUIRE_ERROR(open(), names_index && Contains("weight_map"));
  }
  SECTION("a shard outside the model directory") {
    model.write_index(R"({"a":"../model.safetensors"})");
    REQUIRE_ERROR(open(), names_index && Contains("tensor 'a'") && Contains("plain file name"));
  }
  SECTION("a malformed shard is named") {
    write_bytes(model.dir / s2, "abc");
    REQUIRE_ERROR(open(), Contains(s2) && Contains("3 bytes"));
  }
}

TEST_CASE("the fingerprint is stable for the same bytes and changes with one byte", "[safetensors]") {
  TempDir dir;
  fs::create_directories(dir / "one");
  fs::create_directories(dir / "two");
  const std::vector<float> a{1, 2, 3, 4}, b{5, 6};
  write_two_tensor_file(dir / "one" / "model.safetensors", a, b);
  write_two_tensor_file(dir / "two" / "model.safetensors", a, b);
  const std::string first = Checkpoint::open_dir(dir / "one").fingerprint();
  CHECK(first.size() == std::string("xxh3-128:").size() + 32);
  CHECK(first.rfind("xxh3-128:", 0) == 0);
  CHECK(first == Checkpoint::open_dir(dir / "one").fingerprint());
  CHECK(first == Checkpoint::open_dir(dir / "two").fingerprint());

  // It is the XXH3-128 of the file bytes (what `xxh128sum` prints).
  const auto bytes = read_bytes(dir / "one" / "model.safetensors");
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits(bytes.data(), bytes.size()));
  std::string hex;
  for (unsigned char byte : canonical.digest) hex += fmt::format("{:02x}", byte);
  CHECK(first == "xxh3-128:" + hex);

  // One byte of data (the last one) changed on disk changes it.
  std::vector<float> b_changed = b;
  reinterpret_cast<unsigned char*>(b_changed.data())[7] ^= 1;
  write_two_tensor_file(dir / "two" / "model.safetensors", a, b_changed);
  CHECK(first != Checkpoint::open_dir(dir / "two").fingerprint());

  // An in-memory (copy-on-write) edit does not: it hashes the file, not the mapping.
  const Checkpoint checkpoint = Checkpoint::open_dir(dir / "one");
  checkpoint.find("a")->data[0] ^= std::byte{0xff};
  CHECK(checkpoint.fingerprint() == first);
}

TEST_CASE("writes are atomic: no temp file, and open mappings keep the old bytes", "[safetensors]") {
  TempDir dir;
  const fs::path path = dir / "model.safetensors";
  write_two_tensor_file(path, {1, 2, 3, 4}, {5, 6});
  const auto old_file = SafetensorsFile::open(path);
  write_two_tensor_file(path, {9, 9, 9, 9}, {9, 9});
  std::vector<std::string> entries;
  for (const auto& entry : fs::directory_iterator(dir.path)) entries.push_back(entry.path().filename().string());
  CHECK(entries == std::vector<std::string>{"model.safetensors"});
  const std::vector<float> old_a{1, 2, 3, 4}, new_a{9, 9, 9, 9};
  CHECK(same_bytes(*old_file->find("a"), old_a.data(), 16));
  CHECK(same_bytes(*SafetensorsFile::open(path)->find("a"), new_a.data(), 16));
}

// ---- the one atomic writer (util/atomic_file.h), which write_safetensors goes through ----

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Lowers the file-size limit of this process for its lifetime (a write past it fails with
// EFBIG, "File too large": a disk that fills up, for a test), and ignores SIGXFSZ meanwhile.
struct FileSizeLimit {
  rlimit saved{};
  void (*saved_handler)(int) = nullptr;
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved);
    saved_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = saved;
    lowered.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lowered);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, saved_handler);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
};

}  // namespace

TEST_CASE("the atomic writer replaces a file whole and leaves no temporary file", "[safetensors]") {
  TempDir dir;
  const fs::path path = dir / "out.json";
  editlab::write_file_atomically(path, "old contents\n");
  CHECK(read_text(path) == "old contents\n");
  // A file named like a fixed temporary name is someone else's: never used, never touched.
  write_bytes(dir / "out.json.tmp", "not mine");
  editlab::write_file_atomically(path, "new contents\n");
  CHECK(read_text(path) == "new contents\n");
  editlab::write_file_atomically(path, [](std::ostream& out) {
    for (int i = 0; i < 100000; ++i) out << i << '\n';  // more than the stream's buffer
  });
  CHECK(read_text(path).size() == 588890);
  CHECK(entries_of(dir.path) == std::vector<std::string>{"out.json", "out.json.tmp"});
  CHECK(read_text(dir / "out.json.tmp") == "not mine");
  // Missing parent directories are created unless the caller says they must exist.
  editlab::write_file_atomically(dir / "a" / "b" / "c.txt", "x");
  CHECK(read_text(dir / "a" / "b" / "c.txt") == "x");
  REQUIRE_ERROR(editlab::write_file_atomically(dir / "d" / "e.txt", "x", editlab::ParentDirs::must_exist),
                Contains("e.txt") && Contains("No such file or directory"));
  CHECK_FALSE(fs::exists(dir / "d"));
}

TEST_CASE("a failed atomic write keeps the old file, removes the temporary one and names the path", "[safetensors]") {
  TempDir dir;
  const fs::path path = dir / "target.bin";
  editlab::write_file_atomically(path, "old");
  SECTION("the caller's writer throws half way") {
    REQUIRE_THROWS_WITH(editlab::write_file_atomically(path,
                                                       [](std::ostream& out) {
                                                         out << std::string(100000, 'n');
                                                         throw std::runtime_error("stopped");
                                                       }),
                        "stopped");
  }
  SECTION("the disk refuses the bytes (errno's text in the message)") {
    FileSizeLimit limit(1000);
    REQUIRE_ERROR(editlab::write_file_atomically(path, std::string(5000, 'n')),
                  Contains(path.string()) && Contains("File too large"));
    REQUIRE_ERROR(editlab::write_file_atomically(path, [](std::ostream& out) { out << std::string(200000, 'n'); }),
                  Contains(path.string()) && Contains("File too large"));
  }
  SECTION("the safetensors writer, on a disk that refuses the bytes") {
    FileSizeLimit limit(1000);
    const std::vector<float> big(1000, 1.0f);
    const std::vector<TensorToWrite> tensors{tensor_of("w", DType::F32, {1000}, big)};
    REQUIRE_ERROR(editlab::write_safetensors(path, tensors), Contains(path.string()) && Contains("File too large"));
  }
  CHECK(read_text(path) == "old");
  CHECK(entries_of(dir.path) == std::vector<std::string>{"target.bin"});
}

TEST_CASE("an atomic write where no file can be created is an error naming the path and the reason", "[safetensors]") {
  TempDir dir;
  write_bytes(dir / "plain", "a file, not a directory");
  const fs::path under_file = dir / "plain" / "x.txt";
  REQUIRE_ERROR(editlab::write_file_atomically(under_file, "x", editlab::ParentDirs::must_exist),
                Contains(under_file.string()) && Contains("Not a directory"));
  REQUIRE_ERROR(editlab::write_file_atomically(under_file, "x"), Contains(under_file.string()));
  const std::vector<float> two{1.0f, 2.0f};
  const std::vector<TensorToWrite> tensors{tensor_of("a", DType::F32, {2}, two)};
  REQUIRE_ERROR(editlab::write_safetensors(dir / "plain" / "m.safetensors", tensors),
                Contains("m.safetensors") && Contains("Not a directory"));
  if (::geteuid() != 0) {  // root writes into read-only directories anyway
    fs::create_directory(dir / "ro");
    fs::permissions(dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    REQUIRE_ERROR(editlab::write_file_atomically(dir / "ro" / "y.txt", "y"),
                  Contains("y.txt") && Contains("Permission denied"));
    CHECK(fs::is_empty(dir / "ro"));
    fs::permissions(dir / "ro", fs::perms::owner_all);
  }
  const auto expected = ::geteuid() != 0 ? std::vector<std::string>{"plain", "ro"} : std::vector<std::string>{"plain"};
  CHECK(entries_of(dir.path) == expected);
  CHECK(read_text(dir / "plain") == "a file, not a directory");
}

// ---- the torch bridge ----

TEST_CASE("to_tensor views aligned F32 in place and copies misaligned F32", "[safetensors]") {
  TempDir dir;
  const std::vector<float> a{1, 2, 3, 4}, b{5, 6};
  write_two_tensor_file(dir / "m.safetensors", a, b);
  const auto file = SafetensorsFile::open(dir / "m.safetensors");
  const auto& view = *file->find("a");
  const torch::Tensor t = editlab::to_tensor(file, view, torch::kFloat32);
  CHECK(t.data_ptr() == static_cast<void*>(view.data));  // zero-copy: inside the mapping
  CHECK(t.sizes().vec() == std::vector<int64_t>({2, 2}));
  CHECK(torch::equal(t, torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 2})));

  // After a 3-element F16 tensor, the F32 tensor starts 6 bytes in: misaligned, so copied.
  const std::vector<std::uint16_t> halves{0x3c00, 0x3c00, 0x3c00};
  const std::vector<TensorToWrite> tensors{tensor_of("h", DType::F16, {3}, halves), tensor_of("f", DType::F32, {2}, b)};
  editlab::write_safetensors(dir / "mis.safetensors", tensors);
  const auto mis = SafetensorsFile::open(dir / "mis.safetensors");
  const torch::Tensor copied = editlab::to_tensor(mis, *mis->find("f"), torch::kFloat32);
  CHECK(copied.data_ptr() != static_cast<void*>(mis->find("f")->data));
  CHECK(torch::equal(copied, torch::tensor({5.0f, 6.0f})));
  CHECK(torch::equal(editlab::to_tensor(mis, *mis->find("f"), torch::kFloat64),
                     torch::tensor({5.0, 6.0}, torch::kFloat64)));
}

TEST_CASE("to_tensor converts F16, BF16 and F64 exactly as torch's own .to()", "[safetensors]") {
  TempDir dir;
  torch::manual_seed(0);
  const torch::Tensor values = torch::cat(
      {torch::randn({64}) * 100,
       torch::tensor({0.0f, -0.0f, 1e-7f, -6e-8f, 65504.0f, 3e38f, std::numeric_limits<float>::infinity()})});
  const torch::Tensor half = values.to(torch::kFloat16);
  const torch::Tensor brain = values.to(torch::kBFloat16);
  const torch::Tensor wide = values.to(torch::kFloat64) / 3;
  // "wide" first: at offset 0 of the 8-aligned data section it is aligned for F64.
  editlab::save_tensors(dir / "m.safetensors", {{"wide", wide}, {"half", half}, {"brain", brain}});
  const auto file = SafetensorsFile::open(dir / "m.safetensors");
  for (const auto& [name, source] : {std::pair{"half", half}, std::pair{"brain", brain}, std::pair{"wide", wide}}) {
    INFO(name);
    for (const auto compute : {torch::kFloat32, torch::kFloat64}) {
      const torch::Tensor loaded = editlab::to_tensor(file, *file->find(name), compute);
      CHECK(loaded.scalar_type() == compute);
      CHECK(torch::equal(loaded, source.to(compute)));
    }
  }
  // F64 in float64 compute is zero-copy too.
  CHECK(editlab::to_tensor(file, *file->find("wide"), torch::kFloat64).data_ptr() ==
        static_cast<void*>(file->find("wide")->data));
}

TEST_CASE("to_tensor refuses integer weights, other compute dtypes and foreign views", "[safetensors]") {
  TempDir dir;
  editlab::save_tensors(dir / "m.safetensors", {{"ids", torch::arange(4)}, {"w", torch::ones({2})}});
  const auto file = SafetensorsFile::open(dir / "m.safetensors");
  REQUIRE_ERROR(editlab::to_tensor(file, *file->find("ids"), torch::kFloat32),
                Contains("m.safetensors") && Contains("tensor 'ids'") && Contains("I64"));
  REQUIRE_ERROR(editlab::to_tensor(file, *file->find("w"), torch::kInt64),
                Contains("tensor 'w'") && Contains("compute dtype"));
  const auto other = SafetensorsFile::open(dir / "m.safetensors");
  REQUIRE_ERROR(editlab::to_tensor(other, *file->find("w"), torch::kFloat32), Contains("does not belong"));
}

TEST_CASE("a zero-copy tensor keeps its mapping alive after the caller drops the file", "[safetensors]") {
  TempDir dir;
  write_two_tensor_file(dir / "m.safetensors", {1, 2, 3, 4}, {5, 6});
  auto file = SafetensorsFile::open(dir / "m.safetensors");
  const std::weak_ptr<SafetensorsFile> watch = file;
  torch::Tensor t = editlab::to_tensor(file, *file->find("b"), torch::kFloat32);
  file.reset();
  CHECK_FALSE(watch.expired());
  fs::remove_all(dir.path);  // the mapping does not need the name either
  CHECK(torch::equal(t, torch::tensor({5.0f, 6.0f})));
  t = torch::Tensor();
  CHECK(watch.expired());
}

TEST_CASE("editing a zero-copy tensor in place changes memory, never the file", "[safetensors]") {
  TempDir dir;
  const fs::path path = dir / "m.safetensors";
  write_two_tensor_file(path, {1, 2, 3, 4}, {5, 6});
  const auto before = read_bytes(path);
  const Checkpoint checkpoint = Checkpoint::open_file(path);
  torch::Tensor a = editlab::to_tensor(checkpoint.file_of("a"), *checkpoint.find("a"), torch::kFloat32);
  {
    torch::NoGradGuard no_grad;
    a.mul_(10).add_(torch::ones({2, 2}));
  }
  const torch::Tensor again = editlab::to_tensor(checkpoint.file_of("a"), *checkpoint.find("a"), torch::kFloat32);
  CHECK(torch::equal(again, torch::tensor({11.0f, 21.0f, 31.0f, 41.0f}).reshape({2, 2})));
  CHECK(read_bytes(path) == before);
  const auto reopened = SafetensorsFile::open(path);
  CHECK(torch::equal(editlab::to_tensor(reopened, *reopened->find("a"), torch::kFloat32),
                     torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 2})));
}

TEST_CASE("save_tensors writes contiguous CPU copies in their own dtypes", "[safetensors]") {
  TempDir dir;
  const torch::Tensor matrix = torch::arange(6, torch::kFloat32).reshape({2, 3});
  const torch::Tensor transposed = matrix.t();  // not contiguous
  editlab::save_tensors(
      dir / "s.safetensors",
      {{"t", transposed}, {"ids", torch::tensor({7, 8}, torch::kInt32)}, {"mask", torch::tensor({true, false})}},
      {{"format", "pt"}});
  const auto file = SafetensorsFile::open(dir / "s.safetensors");
  CHECK(file->metadata().at("format") == "pt");
  const auto& t = *file->find("t");
  CHECK(t.dtype == DType::F32);
  CHECK(t.shape == std::vector<int64_t>({3, 2}));
  CHECK(torch::equal(editlab::to_tensor(file, t, torch::kFloat32), transposed));
  const std::vector<std::int32_t> ids{7, 8};
  CHECK(file->find("ids")->dtype == DType::I32);
  CHECK(same_bytes(*file->find("ids"), ids.data(), 8));
  CHECK(file->find("mask")->dtype == DType::BOOL);

  CHECK(editlab::dtype_of(torch::kBFloat16) == DType::BF16);
  CHECK(editlab::dtype_of(torch::kUInt8) == DType::U8);
  REQUIRE_ERROR(editlab::dtype_of(torch::kComplexFloat), Contains("ComplexFloat"));
  REQUIRE_ERROR(editlab::save_tensors(dir / "c.safetensors", {{"z", torch::ones({2}, torch::kComplexFloat)}}),
                Contains("c.safetensors") && Contains("tensor 'z'"));
  REQUIRE_ERROR(editlab::save_tensors(dir / "d.safetensors", {{"x", matrix}, {"x", matrix}}),
                Contains("d.safetensors") && Contains("'x'"));
  CHECK_FALSE(fs::exists(dir / "d.safetensors"));
}
