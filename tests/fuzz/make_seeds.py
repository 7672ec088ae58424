#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz corpora (tests/fuzz/corpus/TARGET/seed-*).

Valid files cut down from the repository's fixtures and data, plus broken ones, each named for
what it holds. Run from anywhere: python3 tests/fuzz/make_seeds.py. It only (re)writes seed-*
files; the inputs libFuzzer added (hex names) and the regression inputs (regress-*) stay.
Standard library only (no numpy: .npy files are written by hand, as numpy lays them out).
"""
import io
import json
import os
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
SEP = b"\n--8<--\n"


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "seed-" + name), "wb") as f:
        f.write(data)


def read(*path):
    with open(os.path.join(ROOT, *path), "rb") as f:
        return f.read()


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---- safetensors ----

DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def safetensors(tensors, metadata=None, header_override=None, pad=True, extra=b""):
    """tensors: [(name, dtype, shape, bytes)] packed in order."""
    header, data, offset = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        data += blob
        offset += len(blob)
    text = (header_override if header_override is not None else compact(header)).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data + extra


def raw_safetensors(header_text, data=b""):
    text = header_text.encode()
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    f32 = struct.pack("<4f", 1.0, -2.0, 0.5, 3.25)
    valid = safetensors([("a.weight", "F32", [2, 2], f32), ("b", "I64", [], struct.pack("<q", 7)),
                         ("c", "U8", [0], b""), ("d", "BF16", [3], b"\x80\x3f\x00\x40\x40\x40"),
                         ("e", "BOOL", [1, 1, 2], b"\x01\x00")], metadata={"format": "pt"})
    write("safetensors", "valid", valid)
    write("safetensors", "valid-all-dtypes", safetensors(
        [(f"t{d}", d, [2], bytes(range(2 * s))) for d, s in DTYPE_SIZE.items()]))
    write("safetensors", "empty-header", raw_safetensors("{}"))
    write("safetensors", "metadata-only", safetensors([], metadata={"a": "b", "format": "np"}))
    write("safetensors", "too-short", b"\x10\x00\x00")
    write("safetensors", "header-longer-than-file", struct.pack("<Q", 1000) + b"{}")
    write("safetensors", "header-length-huge", struct.pack("<Q", 2 ** 63 + 5) + b"{}      ")
    write("safetensors", "invalid-json", raw_safetensors('{"a": {"dtype": "F32",'))
    write("safetensors", "not-object", raw_safetensors("[1, 2, 3]"))
    write("safetensors", "duplicate-key", raw_safetensors(
        '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"x"))
    write("safetensors", "unknown-dtype", raw_safetensors('{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', b"x"))
    write("safetensors", "negative-dim", raw_safetensors('{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}'))
    write("safetensors", "float-dim", raw_safetensors('{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}', b"x"))
    write("safetensors", "shape-mismatch", raw_safetensors('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', b"abcd"))
    write("safetensors", "shape-overflow", raw_safetensors(
        '{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}'))
    write("safetensors", "huge-declared-tensor", raw_safetensors(
        '{"a":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}', b"abcd"))
    write("safetensors", "zero-dim-huge-extent", raw_safetensors(
        '{"a":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}}'))
    write("safetensors", "zero-dim-numel-overflow", raw_safetensors(
        '{"a":{"dtype":"U8","shape":[4294967296,2147483648,0],"data_offsets":[0,0]}}'))
    write("safetensors", "begin-after-end", raw_safetensors('{"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}', b"xy"))
    write("safetensors", "end-past-data", raw_safetensors('{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}', b"xy"))
    write("safetensors", "overlap", raw_safetensors(
        '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', b"xyz"))
    write("safetensors", "gap", raw_safetensors(
        '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}', b"xyz"))
    write("safetensors", "trailing-bytes", safetensors([("a", "U8", [1], b"x")], extra=b"junk"))
    write("safetensors", "metadata-not-strings", raw_safetensors('{"__metadata__":{"a":1}}'))
    write("safetensors", "deep-nesting", raw_safetensors('{"a":' + "[" * 600 + "]" * 600 + "}"))
    write("safetensors", "missing-offsets", raw_safetensors('{"a":{"dtype":"U8","shape":[1]}}', b"x"))
    write("safetensors", "empty-name", safetensors([("", "U8", [1], b"x")]))


# ---- model directory: config.json, index JSON, vocab.json, merges.txt, two shards ----

BYTES_TO_UNICODE = None


def bytes_to_unicode():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def small_tokenizer():
    """A byte-level vocabulary: the 256 byte symbols, a few merges, <|endoftext|>."""
    table = bytes_to_unicode()
    order = [b for b in range(256) if table[b] == chr(b)] + [b for b in range(256) if table[b] != chr(b)]
    vocab = {table[b]: i for i, b in enumerate(order)}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("l", "d"),
              ("Ġwor", "ld"), ("e", "l"), ("H", "el")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<|endoftext|>"] = len(vocab)
    merges_txt = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)
    return compact(vocab).encode(), merges_txt.encode()


def model_dir_seeds():
    config = read("data", "toy-world", "model", "config.json")
    tiny = read("tests", "fixtures", "tiny-gpt2", "config.json")
    vocab, merges = small_tokenizer()
    shard1 = safetensors([("h.0.ln_1.weight", "F32", [2], struct.pack("<2f", 1, 1)),
                          ("wte.weight", "F32", [1, 2], struct.pack("<2f", 0, 1))], metadata={"format": "pt"})
    shard2 = safetensors([("wpe.weight", "F32", [1, 2], struct.pack("<2f", 2, 3))])
    index = compact({"metadata": {"total_size": 20},
                     "weight_map": {"h.0.ln_1.weight": "model-00001-of-00002.safetensors",
                                    "wte.weight": "model-00001-of-00002.safetensors",
                                    "wpe.weight": "model-00002-of-00002.safetensors"}}).encode()

    def dir_input(*parts):
        return SEP.join(parts)

    write("model_dir", "toy-world-sharded", dir_input(config, index, vocab, merges, shard1, shard2))
    write("model_dir", "tiny-gpt2-single-file", dir_input(tiny, b"", vocab, merges, shard1))
    write("model_dir", "config-only", config)
    write("model_dir", "config-float-sizes", compact({"n_embd": 128.0, "n_head": 4, "n_layer": 1e300}))
    write("model_dir", "config-huge-model", compact({"n_layer": 1000000000000, "n_embd": 4096, "n_head": 32,
                                                     "vocab_size": 9223372036854775807}))
    write("model_dir", "config-wrong-types", compact({"model_type": 5, "n_embd": "768", "scale_attn_weights": 1,
                                                      "activation_function": "tanh"}))
    write("model_dir", "config-n-ctx-mismatch", compact({"n_ctx": 12, "n_positions": 13}))
    # the other families' config.json (ModelConfig), from the parity fixtures
    families = os.path.join(ROOT, "tests", "fixtures", "families")
    for fixture in ("gptj", "neox-sequential", "llama3-rope", "llama-dynamic", "mistral", "qwen2"):
        with open(os.path.join(families, fixture, "config.json")) as f:
            write("model_dir", "config-" + fixture, compact(json.load(f)))
    write("model_dir", "config-yarn", compact({"model_type": "llama", "rope_scaling": {"rope_type": "yarn",
                                                                                       "factor": 4.0}}))
    write("model_dir", "config-neox-rope-parameters", compact(
        {"model_type": "gpt_neox", "hidden_size": 64, "num_attention_heads": 4,
         "rope_parameters": {"rope_theta": 500, "partial_rotary_factor": 0.5, "rope_type": "default"}}))
    write("model_dir", "config-unknown-type", compact({"model_type": "falcon"}))
    write("model_dir", "index-escapes-dir", dir_input(config, compact(
        {"weight_map": {"wte.weight": "../model-00001-of-00002.safetensors"}}).encode(), vocab, merges, shard1, shard2))
    write("model_dir", "index-missing-shard", dir_input(config, compact(
        {"weight_map": {"wte.weight": "model-00003-of-00003.safetensors"}}).encode(), vocab, merges, shard1))
    write("model_dir", "index-wrong-shard", dir_input(config, compact(
        {"weight_map": {"h.0.ln_1.weight": "model-00002-of-00002.safetensors",
                        "wte.weight": "model-00001-of-00002.safetensors",
                        "wpe.weight": "model-00002-of-00002.safetensors"}}).encode(), vocab, merges, shard1, shard2))
    write("model_dir", "index-duplicate-key", dir_input(
        config, b'{"weight_map":{"a":"x.safetensors","a":"y.safetensors"}}', vocab, merges))
    write("model_dir", "vocab-sparse-ids", dir_input(config, b"", b'{"a":0,"b":5}', b"a b\n"))
    write("model_dir", "vocab-not-byte-level", dir_input(config, b"", compact({"\u4e00": 0}).encode(), b""))
    write("model_dir", "merges-unknown-token", dir_input(config, b"", vocab, b"#version: 0.2\nzz qq\nthree parts here\n"))
    write("model_dir", "vocab-nested", dir_input(config, b"", b'{"a":[0]}', b""))


# ---- npz: raw archives ("PK...") and pairs of .npy files ----

def npy(descr, shape, data, version=1, fortran=False, header=None):
    if header is None:
        dims = "(" + "".join(f"{d}, " for d in shape).rstrip(" ")
        if len(shape) > 1:
            dims = dims.rstrip(",")
        dims += ")"
        header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {dims}, }}"
    prefix_len = 10 if version == 1 else 12
    text = header.encode()
    text += b" " * (-(prefix_len + len(text) + 1) % 64) + b"\n"
    if version == 1:
        prefix = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text))
    else:
        prefix = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(text))
    return prefix + text + data


def npz(entries, deflate=False):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return out.getvalue()


def npz_seeds():
    mom2 = npy("<f4", (3, 3), struct.pack("<9f", *range(9)))
    count = npy("<i8", (), struct.pack("<q", 100))
    write("npz", "stored", npz([("mom2.mom2.npy", mom2), ("mom2.count.npy", count)]))
    write("npz", "deflated-f8", npz([("mom2.mom2.npy", npy("<f8", (2, 2), struct.pack("<4d", 1, 0, 0, 1))),
                                    ("mom2.count.npy", npy("<f8", (1,), struct.pack("<d", 3.0)))], deflate=True))
    write("npz", "missing-count", npz([("mom2.mom2.npy", mom2)]))
    write("npz", "truncated-archive", npz([("mom2.mom2.npy", mom2), ("mom2.count.npy", count)])[:-30])
    write("npz", "not-zip", b"PK\x03\x04 this is not a zip archive")
    # The .npy pairs (wrapped in a valid zip by the target).
    write("npz", "pair-valid", mom2 + SEP + count)
    write("npz", "pair-v2-f4-count", npy("<f4", (2, 2), bytes(16), version=2) + SEP + npy("<f4", (), struct.pack("<f", 5)))
    write("npz", "pair-v3", npy("<f8", (1, 1), bytes(8), version=3) + SEP + count)
    write("npz", "pair-big-endian", npy(">f4", (1, 1), bytes(4)) + SEP + count)
    write("npz", "pair-fortran", npy("<f4", (1, 1), bytes(4), fortran=True) + SEP + count)
    write("npz", "pair-not-square", npy("<f4", (2, 3), bytes(24)) + SEP + count)
    write("npz", "pair-int-mom2", npy("<i8", (1, 1), bytes(8)) + SEP + count)
    write("npz", "pair-wrong-size", npy("<f4", (3, 3), bytes(12)) + SEP + count)
    write("npz", "pair-unsupported-dtype", npy("<u2", (1, 1), bytes(2)) + SEP + count)
    write("npz", "pair-shape-overflow", npy("<f4", (2 ** 62, 2 ** 62), b"") + SEP + count)
    write("npz", "pair-dim-overflow", npy("<f4", (), b"", header="{'descr': '<f4', 'fortran_order': False, "
                                          "'shape': (99999999999999999999999, 1), }") + SEP + count)
    write("npz", "pair-count-nan", mom2 + SEP + npy("<f8", (), struct.pack("<d", float("nan"))))
    write("npz", "pair-count-huge", mom2 + SEP + npy("<f8", (), struct.pack("<d", 1e300)))
    write("npz", "pair-count-zero", mom2 + SEP + npy("<i8", (1,), struct.pack("<q", 0)))
    write("npz", "pair-header-garbage", npy("<f4", (1, 1), bytes(4), header="{'descr': '<f4', 'shape': (1, 1), "
                                            "'extra': 1}") + SEP + count)
    write("npz", "pair-bad-magic", b"\x93NUMPZ\x01\x00\x10\x00{}" + SEP + count)
    write("npz", "pair-truncated-header", npy("<f4", (1, 1), bytes(4))[:40] + SEP + count)


# ---- edit inputs: edit specs, datasets (JSON / JSON Lines), hparams ----

def edit_inputs_seeds():
    counterfact = json.loads(read("data", "toy-world", "counterfact.json"))
    write("edit_inputs", "counterfact-record", compact(counterfact[0]))
    write("edit_inputs", "counterfact-array", compact(counterfact[1:3]))
    write("edit_inputs", "counterfact-jsonl", "\n".join(compact(r) for r in counterfact[3:5]) + "\n")
    ripple = json.loads(read("tests", "fixtures", "import", "ripple_edits.expected.json"))
    write("edit_inputs", "ripple-edits-record", compact(ripple[0]))
    mquake = json.loads(read("tests", "fixtures", "import", "mquake.expected.json"))
    write("edit_inputs", "mquake-record", compact(mquake[0]))
    write("edit_inputs", "flat-spec", compact({"prompt": "{} is located in", "subject": "The Louvre",
                                               "target_new": "Rome", "target_true": {"str": "Paris"}}))
    write("edit_inputs", "rome-hparams", read("configs", "rome", "toy-world.json"))
    write("edit_inputs", "ft-hparams", read("configs", "ft", "gpt2.json"))
    write("edit_inputs", "ft-l-hparams", read("configs", "ft-l", "toy-world.json"))
    write("edit_inputs", "hparams-float-layers", compact({"layers": [1e300], "num_steps": 1, "lr": 1, "weight_decay": 0,
                                                          "kl_factor": 0, "norm_constraint": False}))
    write("edit_inputs", "hparams-bad-pairs", compact({"layers": [1], "fact_token": "last", "v_num_grad_steps": 1,
                                                       "v_lr": 1, "v_loss_layer": 1, "v_weight_decay": 0,
                                                       "clamp_norm_factor": 1, "kl_factor": 0, "mom2_adjustment": False,
                                                       "mom2_dataset": "x", "mom2_n_samples": 1, "mom2_dtype": "float32",
                                                       "context_template_length_params": [[5, 1e300], [1]]}))
    write("edit_inputs", "hparams-typo", compact({"lyers": [1], "num_steps": 1}))
    write("edit_inputs", "test-condition-not-string", compact(
        {"prompt": "{} x", "subject": "s", "target_new": "n",
         "benchmark_tests": [{"benchmark": "mquake", "family": "f", "test_condition": 1,
                              "test_queries": [{"prompt": "p", "answers": [{"value": "v"}]}]}]}))
    write("edit_inputs", "wrong-types", compact({"case_id": [1], "requested_rewrite": {"prompt": 1, "subject": None}}))
    write("edit_inputs", "empty-array", "[]")
    write("edit_inputs", "bad-jsonl", '{"prompt": "{} x"}\n{oops\n')
    write("edit_inputs", "deep-nesting", "[" * 600 + "]" * 600)


# ---- experiment config ----

def experiment_seeds():
    for name in ("rome", "ft", "ft-l", "unedited", "sequential-rome", "sequential-ft"):
        write("experiment", "toy-world-" + name, read("experiments", "toy-world", name + ".json"))
    write("experiment", "regression-rome", read("tests", "regression", "rome.json"))
    write("experiment", "everything", compact({
        "model": "m", "method": "ft-l", "hparams": "h.json", "dataset": "d.json",
        "select": {"range": [1, 7], "case_ids": ["3", 4, "x"], "limit": 2}, "suites": ["efficacy", "fluency"],
        "loud_templates": ["{} is cool."], "generation": {"beams": 2, "max_length": 20},
        "fluency": {"max_length": 30, "top_k": 3},
        "rome": {"stats": "s.npz", "stats_corpus": "c.txt", "samples": 10, "context_templates": "t.json",
                 "template_seed": 1, "cache_dir": "cache", "cache": False},
        "seed": 3, "threads": 2, "dtype": "float64", "device": "cpu", "bootstrap": {"resamples": 10, "level": 0.9},
        "sequential": {"every": 2, "first": 3}, "out": "/abs/out"}))
    write("experiment", "unknown-field", compact({"model": "m", "dataset": "d", "methd": "rome"}))
    write("experiment", "bad-range", compact({"model": "m", "dataset": "d", "method": "none",
                                              "select": {"range": [5, 2]}}))
    write("experiment", "unknown-case-id", compact({"model": "m", "dataset": "d", "method": "none",
                                                    "select": {"case_ids": ["nope"]}}))
    write("experiment", "huge-numbers", compact({"model": "m", "dataset": "d", "method": "none",
                                                 "seed": 18446744073709551615, "threads": -1}))
    write("experiment", "device-cuda", compact({"model": "m", "dataset": "d", "method": "none", "device": "cuda:99"}))
    write("experiment", "deep-nesting", '{"model": "m", "dataset": "d", "x": ' + "[" * 600 + "]" * 600 + "}")


# ---- reports (A, B, tolerance) ----

def report(indices, shard=None, metrics=None, resamples=50, level=0.95, run_id="run-1"):
    records = []
    for i in indices:
        if i % 3 == 2:
            records.append({"index": i, "case_id": str(i), "status": "failed", "error": "x",
                            "seconds": {"edit": 0, "probe": 0, "other": 0.1}})
        else:
            records.append({"index": i, "case_id": str(i), "status": "ok",
                            "metrics": metrics or {"efficacy/success": [i % 2], "specificity/NS": [1, 0.5, None]},
                            "details": {}, "seconds": {"edit": 1.0, "probe": 2.0, "other": 0.5}})
    return {
        "schema": "editlab.report/1", "editlab_version": "0.1.0", "created": "2024-01-01T00:00:00Z",
        "complete": True, "run_id": run_id,
        "config": {"model": "m", "method": "rome", "dataset": "d.json", "shard": None if shard is None else "%d/%d" % shard},
        "model": {"dir": "m", "fingerprint": "xxh3-128:abc", "n_layer": 2, "n_embd": 8, "vocab_size": 50257},
        "hparams": {}, "dataset": {"path": "d.json", "hash": "xxh3-128:def", "records": 10},
        "selection": {"total": 4, "indices": indices},
        "shard": None if shard is None else {"index": shard[0], "count": shard[1]},
        "bootstrap": {"seed": 7, "resamples": resamples, "level": level},
        "summary": {"records": len(records), "ok": 0, "failed": 0},
        "aggregates": {"efficacy/success": {"mean": 0.5, "ci": [0.0, 1.0], "records": 2, "values": 2},
                       "specificity/NS": {"mean": 0.75, "ci": [0.5, None], "records": 2, "values": 6}},
        "timings": {"wall": 10.0, "edit": 2, "probe": 4.0, "loop": 8.0, "model": 4.0, "records_processed": 4},
        "records": records}


def report_seeds():
    tolerance = read("tests", "regression", "tolerance.json")
    write("report", "compare-pair", SEP.join([compact(report([0, 1, 2, 3])).encode(),
                                              compact(report([0, 1, 2, 3], run_id="run-2")).encode(), tolerance]))
    write("report", "merge-shards", SEP.join([compact(report([0, 2], shard=(1, 2))).encode(),
                                              compact(report([1, 3], shard=(2, 2))).encode()]))
    write("report", "merge-overlap", SEP.join([compact(report([0, 1], shard=(1, 2))).encode(),
                                               compact(report([1, 3], shard=(2, 2))).encode()]))
    write("report", "tolerance-patterns", SEP.join([compact(report([0])).encode(), compact(report([0])).encode(),
                                                    b'{"default":{"ci":true},"metrics":{"*":{"abs":0.1},'
                                                    b'"eff?cacy/*":{"optional":true},"x":{"abs":-1}}}']))
    write("report", "not-a-report", b'{"schema": "something/2"}')
    write("report", "missing-fields", b'{"schema": "editlab.report/1", "config": {}, "records": []}')
    minimal = {"schema": "editlab.report/1", "config": {}, "records": [], "aggregates": {}, "dataset": {}, "model": {}}
    write("report", "minimal", SEP.join([compact(minimal).encode()] * 2))
    weird = report([0, 1], shard=(1, 1), metrics={"efficacy/success": ["yes"], "loud/rate": 3})
    weird["aggregates"] = {"efficacy/success": {"ci": []}, "loud/rate": 1}
    write("report", "wrong-types", SEP.join([compact(weird).encode(), compact(report([0, 1])).encode()]))
    write("report", "bad-bootstrap", SEP.join([compact(report([0, 1], shard=(1, 1), resamples=3, level=3)).encode()]))
    write("report", "deep-nesting", '{"schema": "editlab.report/1", "x": ' + "[" * 600 + "]" * 600 + "}")
    # Journals (the fourth section; the reports before it may be empty).
    header = compact({"journal": "editlab.journal/1", "run_id": "xxh3-128:abc", "shard": {"index": 1, "count": 2}})
    records = "".join(compact(r) + "\n" for r in report([0, 1, 2])["records"])
    write("report", "journal", SEP.join([b"", b"", b"", (header + "\n" + records + '{"index": 3, "sta').encode()]))
    write("report", "journal-header-only", SEP.join([b"", b"", b"", (header + "\n").encode()]))
    write("report", "journal-bad-header", SEP.join([b"", b"", b"", b'{"journal": 1}\n{"index": 0}\n']))
    write("report", "journal-bad-record", SEP.join([b"", b"", b"", (header + '\n{"index": "0"}\n[1]\n').encode()]))
    write("report", "journal-not-json", SEP.join([b"", b"", b"", b"editlab.journal/1\n"]))


# ---- tokenizer: text ----

def tokenizer_seeds():
    golden = json.loads(read("tests", "golden", "tokenizer_golden.json"))
    for i, case in enumerate(golden[:24]):
        write("tokenizer", "golden-%02d" % i, case["text"])
    write("tokenizer", "contractions", "IT'S it's we'll they've I'm you'd 'twas")
    write("tokenizer", "whitespace", " \t\n\r\x0b\x0c \u00a0\u2028\u3000\ufeff a  \n\n  b   ")
    write("tokenizer", "unicode", "Zürich 東京 Ελληνικά 🙂👍🏽 ١٢٣ ǅ ﬁ e\u0301")
    write("tokenizer", "endoftext", "<|endoftext|>Hello<|endoftext|>")
    write("tokenizer", "long-word", "a" * 2000)
    write("tokenizer", "digits", "3.14159 1,000,000 ½ ²³")
    write("tokenizer", "invalid-utf8", b"abc\xff\xfe \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82")
    write("tokenizer", "cut-multibyte", "日本".encode()[:-1])
    write("tokenizer", "nul", b"a\x00b\x00\x00")


# ---- tokenizer_json: a tokenizer.json [+ "--8<--" + text] ----

def shrunk_tokenizer(name, keep=300):
    """A fixture's tokenizer.json with only ids < keep (and the merges among them), same pipeline."""
    j = json.loads(read("tests", "fixtures", "tokenizers", name, "tokenizer.json"))
    vocab = {t: i for t, i in j["model"]["vocab"].items() if i < keep}
    merges = []
    for m in j["model"]["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    j["model"]["vocab"], j["model"]["merges"] = vocab, merges
    j["added_tokens"] = [t for t in j["added_tokens"] if t["id"] < keep + 8]
    return j


def tokenizer_json_seeds():
    text = "Hello  world<s> it's IT'S\tnaïve 東京 🙂 12345\r\n<|endoftext|>[INST]".encode()
    for name in ("gpt2", "gptj", "neox", "llama2-legacy", "llama2", "llama3", "qwen2", "mistral"):
        write("tokenizer_json", name, compact(shrunk_tokenizer(name)).encode() + SEP + text)
    j = shrunk_tokenizer("llama3")
    bad = dict(j, normalizer={"type": "BertNormalizer"})
    write("tokenizer_json", "unknown-normalizer", compact(bad))
    bad = dict(j, model=dict(j["model"], merges=["Ġ zzz"]))
    write("tokenizer_json", "bad-merge", compact(bad))
    bad = dict(j, model=dict(j["model"], vocab={"a": 2000000000}, merges=[]))
    write("tokenizer_json", "sparse-ids", compact(bad))
    bad = dict(j, model={"type": "Unigram", "vocab": [["a", -1.0]]})
    write("tokenizer_json", "unigram", compact(bad))
    bad = dict(j, pre_tokenizer={"type": "Split", "pattern": {"Regex": "(?<=a"}, "behavior": "Isolated", "invert": False})
    write("tokenizer_json", "bad-regex", compact(bad))
    write("tokenizer_json", "not-json", b'{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [')


if __name__ == "__main__":
    safetensors_seeds()
    model_dir_seeds()
    npz_seeds()
    edit_inputs_seeds()
    experiment_seeds()
    report_seeds()
    tokenizer_seeds()
    tokenizer_json_seeds()
