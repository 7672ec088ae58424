#!/usr/bin/env python3
"""Writes tests/fixtures/families/<name>/rome_reference.json: ROME's u and v on the family fixtures,
computed as kmeng01/rome's compute_u / compute_v do (rome/compute_u.py, rome/compute_v.py,
rome/repr_tools.py), but on the Hugging Face model itself (transformers 4.47.1, eager attention,
float64), with forward hooks on the rewrite module (an nn.Linear: its input is the key, its output
the value). Templates, requests, hparams (but the layers) and the statistics corpus are those of
scripts/make_rome_reference.py (the GPT-2 reference), imported from it.

Second-moment statistics: computed here from the fixed corpus with the HF model (every non-pad
token's key, float64). The C++ test recomputes them from the same corpus with
compute_second_moment in float64 and checks them against `mom2_count`, `mom2_trace`, `mom2_diag`
stored here (the full [M, M] matrix is not stored, to keep the files small).

Tokenization: as HF-based editors tokenize (EasyEdit on Llama) and as editlab does: every text
the model starts reading (prompts, rewriting prompts, statistics samples) is tok(text) with
add_special_tokens=True, so Llama 2 / Llama 3 / Mistral rows begin with BOS; the target is
" " + target tokenized as a continuation (make_prompt_golden.no_prefix: the same tokenizer.json with
Prepend / Metaspace prepend / add_prefix_space off, no special tokens), i.e. the tokens the model
reads after the prompt ("▁Paris", where tok(" Paris")[1:] on the legacy Llama 2 tokenizer gives
"▁", "▁Paris"). Rows are right-padded with eos and passed with an attention mask (no position
ids), as the reference code calls the model.

Rewriting prompts: the reference's context.format(prompt) + tok.decode(target_ids[:-1]), tokenized
whole, when decoding gives those tokens back; otherwise (SentencePiece decoders drop the first
token's leading space, "▁Par" -> "Par") the prompt's ids followed by target_ids[:-1].

Subject lookup: repr_tools.get_words_idxs_in_templates as EasyEdit runs it on every family:
index = len(tok(prefix + subject)) - 1 with BOS counted, where prefix is the template's text
before "{}"; as editlab does, a sentence whose tokens do not begin with tok(prefix + subject) or
tok(prefix.rstrip one space) is refused (then only the "{}" template is used for that fixture, and
a request whose own prompt is refused is left out: `skipped_cases`).

Run:  HF_HUB_OFFLINE=1 .venv-ref/bin/python scripts/reference/make_family_rome_reference.py [names...]
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_rome_reference as mr  # noqa: E402

sys.path.insert(0, HERE)
from make_prompt_golden import no_prefix  # noqa: E402

FIXTURES = ["gptj", "neox-parallel", "neox-sequential", "llama", "llama-head-dim", "llama3-rope",
            "llama-dynamic", "mistral", "qwen2"]
REWRITE = {"gptj": "transformer.h.{}.mlp.fc_out", "gpt_neox": "gpt_neox.layers.{}.mlp.dense_4h_to_h",
           "llama": "model.layers.{}.mlp.down_proj", "mistral": "model.layers.{}.mlp.down_proj",
           "qwen2": "model.layers.{}.mlp.down_proj"}


class Refused(Exception):
    pass


class Family:
    def __init__(self, name):
        from transformers import AutoModelForCausalLM, AutoTokenizer
        self.name = name
        self.dir = os.path.join(ROOT, "tests", "fixtures", "families", name)
        self.model = AutoModelForCausalLM.from_pretrained(self.dir, torch_dtype=torch.float64,
                                                          attn_implementation="eager")
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.tok = AutoTokenizer.from_pretrained(self.dir)
        cfg = self.model.config
        self.model_type = cfg.model_type
        self.n_layer = cfg.num_hidden_layers
        self.layer = self.n_layer - 2  # the v loss (last layer) comes after the edit layer
        self.n_positions = cfg.max_position_embeddings
        self.pad = self.tok.eos_token_id
        self.module_name = REWRITE[self.model_type].format(self.layer)
        self.module = self.model.get_submodule(self.module_name)
        assert isinstance(self.module, torch.nn.Linear)
        # HF 4.47's eager Mistral gives NaN on a whole right-padded row once its padding is longer
        # than the sliding window (the masked pad positions' NaN reaches the real ones as keys in
        # the next layer), so its rows run one at a time, unpadded: the same values at every real
        # position as the padded batch of the reference code.
        self.unpadded = self.model_type == "mistral"

    def encode(self, text):
        """A text the model starts reading: tok(text), BOS included where the tokenizer adds one."""
        return self.tok(text)["input_ids"]

    def encode_continuation(self, text):
        from tokenizers import Tokenizer
        if not hasattr(self, "_cont"):
            spec = json.loads(self.tok.backend_tokenizer.to_str())
            spec["normalizer"] = no_prefix(spec.get("normalizer"))
            spec["pre_tokenizer"] = no_prefix(spec.get("pre_tokenizer"))
            self._cont = Tokenizer.from_str(json.dumps(spec))
        return self._cont.encode(text, add_special_tokens=False).ids

    def subject_index(self, template, subject):
        """get_words_idxs_in_templates (EasyEdit's form), subtoken "last", with editlab's agreement check."""
        whole = self.encode(template.format(subject))
        prefix = template[:template.index("{}")]
        through = self.encode(prefix + subject)
        before = self.encode(prefix[:-1] if prefix.endswith(" ") else prefix)
        if whole[:len(through)] != through or whole[:len(before)] != before or len(through) <= len(before):
            raise Refused(f"{template!r}: whole {whole} vs through the subject {through}, before it {before}")
        return len(through) - 1

    def pad_rows(self, rows):
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for b, r in enumerate(rows):
            ids[b, :len(r)] = torch.tensor(r)
            mask[b, :len(r)] = 1
        return ids, mask

    def forward(self, rows, hook):
        """Logits [B, W, V] and mask of the right-padded batch; hook(key, value, r) -> value is called
        with the rewrite module's input and output for the batch rows r (a list of row numbers)."""
        ids, mask = self.pad_rows(rows)
        groups = [[r] for r in range(len(rows))] if self.unpadded else [list(range(len(rows)))]
        logits = []
        for r in groups:
            h = self.module.register_forward_hook(lambda module, inputs, output: hook(inputs[0], output, r))
            try:
                if self.unpadded:
                    n = len(rows[r[0]])
                    out = self.model(input_ids=ids[r, :n]).logits
                    out = torch.nn.functional.pad(out, (0, 0, 0, ids.shape[1] - n))
                else:
                    out = self.model(input_ids=ids, attention_mask=mask).logits
            finally:
                h.remove()
            logits.append(out)
        return torch.cat(logits, 0), mask

    def read_at(self, rows, idxs):
        got = {}

        def hook(key, value, r):
            for j, row in enumerate(r):
                got[row] = (key[j, idxs[row]].detach().clone(), value[j, idxs[row]].detach().clone())
            return value
        with torch.no_grad():
            self.forward(rows, hook)
        return (torch.stack([got[i][0] for i in range(len(rows))]),
                torch.stack([got[i][1] for i in range(len(rows))]))

    def layer_stats(self, corpus):
        mom2 = torch.zeros(self.module.in_features, self.module.in_features, dtype=torch.float64)
        count = 0
        for text in corpus:
            row = self.encode(text)[: self.n_positions]
            if not row:
                continue
            got = {}

            def hook(key, value, r):
                got["k"] = key[0].detach().clone()
                return value
            with torch.no_grad():
                self.forward([row], hook)
            mom2 += got["k"].t().mm(got["k"])
            count += got["k"].shape[0]
        return mom2, count

    def compute_u(self, request, templates, inv_moment):
        rows, idxs = [], []
        for t in templates:
            templ = t.format(request["prompt"])
            rows.append(self.encode(templ.format(request["subject"])))
            idxs.append(self.subject_index(templ, request["subject"]))
        k_star = self.read_at(rows, idxs)[0].mean(0)
        u = inv_moment @ k_star
        return u / u.norm()

    def target_prefix(self, target_ids):
        # The reference: tok.decode(target_ids[:-1]). editlab decodes and then always applies HF's
        # clean_up_tokenization (GPT-2's tokenizer does by default); recorded if the two differ.
        hf = self.tok.decode(target_ids[:-1])
        cleaned = mr.clean_up_tokenization(self.tok.decode(target_ids[:-1], clean_up_tokenization_spaces=False))
        return hf, cleaned

    def compute_v(self, request, templates, u, hp):
        target = request["target_new"]
        target_ids = self.encode_continuation(target if target.startswith(" ") else " " + target)
        head = target_ids[:-1]
        as_text = self.encode_continuation(self.tok.decode(head, clean_up_tokenization_spaces=False)) == head
        prefix_hf, prefix_cleaned = self.target_prefix(target_ids) if as_text else ("", "")
        rewriting = [t.format(request["prompt"]) + prefix_hf for t in templates]
        prompts = rewriting + ["{} is a"]
        rows = [self.encode(p.format(request["subject"])) for p in prompts]
        if not as_text:
            rows = [r + head for r in rows[:-1]] + [rows[-1]]
        lookup = [self.subject_index(p, request["subject"]) for p in prompts]
        n_model = self.model.config.hidden_size
        delta = torch.zeros(n_model, dtype=torch.float64, requires_grad=True)
        state = {"target_init": None}

        def hook(key, value, r):
            if r[0] == 0 and state["target_init"] is None:
                state["target_init"] = value[0, lookup[0]].detach().clone()
            value = value.clone()
            for j, row in enumerate(r):
                value[j, lookup[row], :] += delta
            return value

        target_vec, losses = mr.optimize_v(lambda: self.forward(rows, hook), delta, state, len(rewriting),
                                           lookup[-1], target_ids, hp)
        idx = self.subject_index(request["prompt"], request["subject"])
        k0, o0 = self.read_at([self.encode(request["prompt"].format(request["subject"]))], [idx])
        v = (target_vec - o0[0]) / torch.dot(k0[0], u)
        info = {"target_ids": target_ids, "target_prefix": prefix_hf, "target_prefix_as_ids": not as_text,
                "target_prefix_as_editlab": prefix_cleaned, "rows": rows, "lookup": lookup}
        return v, target_vec, losses, info


def templates_for(fam, requests):
    """All of make_rome_reference's templates if the subject lookup accepts every sentence, else "{}"."""
    try:
        for request in requests:
            for t in mr.TEMPLATES:
                templ = t.format(request["prompt"])
                fam.subject_index(templ, request["subject"])
        return list(mr.TEMPLATES), None
    except Refused as e:
        return ["{}"], f"a prefixed template splits the subject differently whole and in pieces ({e})"


def run_one(name):
    import transformers
    torch.manual_seed(0)
    fam = Family(name)
    hp = dict(mr.HPARAMS)
    hp["layers"] = [fam.layer]
    hp["v_loss_layer"] = fam.n_layer - 1
    hp["rewrite_module_tmp"] = REWRITE[fam.model_type]
    mom2, count = fam.layer_stats(mr.CORPUS)
    inv_moment = torch.inverse(mom2 / count)
    # Requests whose own prompt the lookup refuses (prefixed prompts on SentencePiece) are left out.
    requests, skipped = [], []
    for request in mr.REQUESTS:
        try:
            fam.subject_index(request["prompt"], request["subject"])
            fam.subject_index("{} is a", request["subject"])
            requests.append(request)
        except Refused as e:
            skipped.append({"case_id": request["case_id"], "why": f"subject lookup refused: {e}"})
    templates, template_note = templates_for(fam, requests)
    cases = []
    for request in requests:
        try:
            u = fam.compute_u(request, templates, inv_moment)
            v, target, losses, info = fam.compute_v(request, templates, u, hp)
        except Refused as e:
            skipped.append({"case_id": request["case_id"], "why": f"subject lookup refused: {e}"})
            continue
        cases.append({"request": request, "u": u.tolist(), "v": v.tolist(), "target": target.tolist(),
                      "losses": losses, **info})
        print(f"{name} case {request['case_id']}: {len(losses)} loss evaluations, "
              f"{losses[0]:.4f} -> {losses[-1]:.4f}, prefix {info['target_prefix']!r}", file=sys.stderr)
    out = {
        "description": "ROME u and v (kmeng01/rome compute_u / compute_v transcribed, run on the HF model "
                       "with hooks on the rewrite module), float64; scripts/reference/make_family_rome_reference.py",
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
        "fixture": name, "model_type": fam.model_type, "layer": fam.layer, "rewrite_module": fam.module_name,
        "hparams": hp, "context_templates": templates, "templates_note": template_note,
        "tokenization": "texts the model starts reading: tok(text) (BOS where the tokenizer adds one); targets: "
                        "continuation ids (no special tokens, no prefix added); rows right-padded with eos id %d, "
                        "attention mask, no position ids" % fam.pad,
        "corpus": mr.CORPUS, "mom2_count": count, "mom2_trace": float(mom2.trace()),
        "mom2_diag": mom2.diagonal().tolist(), "mom2_frobenius": float(mom2.norm()),
        "skipped_cases": skipped, "cases": cases,
    }
    path = os.path.join(fam.dir, "rome_reference.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"wrote {path} ({len(cases)} cases, templates {len(templates)})", file=sys.stderr)


def main():
    torch.set_num_threads(1)
    names = sys.argv[1:] or FIXTURES
    for name in names:
        run_one(name)


if __name__ == "__main__":
    main()
