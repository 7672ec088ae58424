#!/usr/bin/env python3
"""Small Hugging Face tokenizer.json fixtures for nine model families, and golden vectors for them.

Run by scripts/reference/make_tokenizer_fixtures.sh in .venv-ref (tokenizers 0.21.0, transformers
4.47.1; see scripts/reference/requirements.txt). Offline: nothing is downloaded. It

  1. reads the committed training text scripts/reference/tokenizer_training_text.txt (building it
     from the repo's prose plus generated multilingual text when it is missing or when
     --rebuild-training-text is given),
  2. trains one BPE per vocabulary with tokenizers' BpeTrainer (gpt2 / gptj share one, as GPT-J
     reuses GPT-2's; llama2 / llama2-legacy / llama2-eos share one, as they are one model),
  3. writes tests/fixtures/tokenizers/<name>/{tokenizer.json, tokenizer_config.json, ...}, each
     laid out as the family's published Hugging Face file is (see that folder's README.md),
  4. writes tests/golden/tokenizers/strings.json and tests/golden/tokenizers/<name>.json: ids from
     transformers' AutoTokenizer (checked against tokenizers' Tokenizer for every tokenizer but
     llama2-eos), decodes from tokenizers' Tokenizer.decode,
  5. times tokenizers' single-thread Tokenizer.encode_batch on a ~10 MB text (written to
     --bench-text for a C++ program to be timed on the same bytes) and writes
     tests/golden/tokenizers/hf_throughput.json (--skip-bench: not; --bench-only: only that, for
     the fixtures as they are).

Everything but the timings is deterministic: a re-run writes byte-identical files.
"""

import os

# Single-threaded tokenizers, fixed before the import (throughput figures are single-thread ones,
# and one thread also keeps the trainer's work order fixed). No hub access at all.
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402
import zlib  # noqa: E402

import tokenizers  # noqa: E402
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from make_fixture import bytes_to_unicode  # noqa: E402 (GPT-2's byte -> character table)

TRAINING_TEXT = REPO / "scripts/reference/tokenizer_training_text.txt"
FIXTURES = REPO / "tests/fixtures/tokenizers"
GOLDEN = REPO / "tests/golden/tokenizers"
ID_RANGE = 3072  # every tokenizer's largest id + 1 (the models that use them have vocab_size 3072)
SEED = 20240601
NAMES = ["gpt2", "gptj", "neox", "llama2-legacy", "llama2", "llama2-eos", "llama3", "qwen2", "mistral"]

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
# Training only (never in a fixture): SentencePiece-like pieces for the Llama / Mistral vocabularies
# after spaces became "▁": a piece is "▁" + non-space run, or a run of "▁" (whitespace-only pieces,
# as Llama's "▁▁", "▁▁▁▁"), digits one by one (split_digits), and control whitespace apart.
SPM_TRAINING_PATTERN = r"[\r\n\t]+|\p{N}|▁?[^▁\r\n\t\p{N}]+|▁+(?=▁[^▁\r\n\t\p{N}])|▁+"

HUGE = 1000000000000000019884624838656  # transformers' VERY_LARGE_INTEGER, as published configs hold it

LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|reserved_special_token_2|>",
                   "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
                   "<|reserved_special_token_4|>", "<|eot_id|>"] + [
                       f"<|reserved_special_token_{i}|>" for i in range(5, 251)]
MISTRAL_CONTROLS = ["<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]",
                    "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]"] + [
                        f"[control_{i}]" for i in range(8, 769)]
assert len(LLAMA3_SPECIALS) == 256 and len(MISTRAL_CONTROLS) == 771

# ---------------------------------------------------------------------------------------------
# Text pools (training text and test strings)
# ---------------------------------------------------------------------------------------------

POOLS = {
    "french": [
        "Le cœur a ses raisons que la raison ne connaît point.",
        "Où est la bibliothèque ? Elle est à côté de l'église.",
        "Les élèves étudient l'histoire de la Révolution française.",
        "Ça va très bien, merci beaucoup !",
        "L'été dernier, nous sommes allés à Montréal et à Québec.",
        "Il était une fois une princesse qui vivait dans un château.",
        "Je voudrais un café crème et un croissant, s'il vous plaît.",
        "Le garçon a mangé une pêche et deux crêpes à la fête.",
        "Noël approche ; les rues de Paris sont illuminées.",
        "Voilà pourquoi il faut être prêt dès l'aube.",
    ],
    "german": [
        "Die Bürger müssen die Straße überqueren.",
        "Größe, Übung und Äpfel sind schöne Wörter.",
        "Der Fußgänger wartete geduldig an der Ampel.",
        "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
        "Ich möchte gern ein Stück Käsekuchen und einen Kaffee.",
        "Die Universität München gehört zu den ältesten in Deutschland.",
        "Können Sie mir bitte den Weg zum Bahnhof erklären?",
        "Häuser, Bäume und Flüsse prägen die Landschaft.",
    ],
    "spanish": [
        "¿Dónde está la estación de tren? ¡Está allí!",
        "El niño comió una manzana y un plátano.",
        "Mañana iremos a la montaña con nuestros amigos.",
        "La canción más famosa de España se escucha en todas partes.",
        "El pingüino Wenceslao hizo kilómetros bajo exhaustiva lluvia y frío.",
        "¿Qué hora es? Son las tres y media de la tarde.",
        "Mi corazón está lleno de alegría y esperanza.",
    ],
    "portuguese": [
        "A informação está disponível no coração da cidade.",
        "Não há nada mais bonito que o pôr do sol em Lisboa.",
        "Ação, emoção e tradição são palavras comuns em português.",
        "Você já visitou o Pão de Açúcar no Rio de Janeiro?",
        "As crianças brincam no jardim depois da escola.",
    ],
    "latin_ext": [
        "Zażółć gęślą jaźń.",
        "Chrząszcz brzmi w trzcinie w Szczebrzeszynie.",
        "Łódź jest dużym miastem w środkowej Polsce.",
        "Příliš žluťoučký kůň úpěl ďábelské ódy.",
        "Tiếng Việt có nhiều dấu thanh điệu khác nhau.",
        "Tôi yêu Hà Nội và thành phố Hồ Chí Minh.",
        "Chúng tôi đang học lập trình máy tính.",
        "İstanbul'da güzel bir gün geçirdik.",
        "Pijamalı hasta yağız şoföre çabucak güvendi.",
        "Þjóðin á Íslandi talar íslensku og les Eddukvæði.",
        "Știința și tehnologia sunt importante în România.",
        "Blåbærsyltetøy er godt på vafler.",
        "Smörgåsbord och köttbullar är svensk mat.",
        "Árvíztűrő tükörfúrógép.",
        "Sveučilište u Zagrebu osnovano je davne 1669. godine.",
        "Ĉu vi parolas Esperanton? Jes, iomete.",
    ],
    "russian": [
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "Москва — столица России.",
        "Я люблю читать книги по вечерам.",
        "Привет, как дела? Всё хорошо, спасибо.",
        "В чащах юга жил бы цитрус? Да, но фальшивый экземпляр!",
        "Погода сегодня очень хорошая, и мы идём гулять.",
        "Мы изучаем машинное обучение и нейронные сети.",
        "Санкт-Петербург был основан в 1703 году.",
        "Лев Толстой написал роман «Война и мир».",
    ],
    "cyrillic_other": [
        "Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів!",
        "Київ — столиця України.",
        "Дякую за допомогу, друже.",
        "Београд је главни град Србије.",
        "София е столицата на България.",
        "Қазақстан — Орталық Азиядағы мемлекет.",
        "Беларуская мова мае доўгую гісторыю.",
    ],
    "greek": [
        "Γειά σου Κόσμε!",
        "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
        "Τα παιδιά παίζουν στον κήπο.",
        "Ευχαριστώ πολύ για τη βοήθεια.",
        "Ο Σωκράτης ήταν φιλόσοφος της αρχαίας Αθήνας.",
        "Η θάλασσα είναι γαλάζια το καλοκαίρι.",
        "Ἐν ἀρχῇ ἦν ὁ λόγος.",
    ],
    "arabic": [
        "مرحبا بالعالم",
        "اللغة العربية جميلة جداً.",
        "القاهرة هي عاصمة مصر.",
        "أحب القراءة في المساء.",
        "شكراً جزيلاً على المساعدة.",
        "نحن ندرس تعلم الآلة والشبكات العصبية.",
        "وُلِدَ الشاعرُ في بغدادَ سنة ١٩٢٦.",
        "سلام، حال شما چطور است؟",
        "تهران پایتخت ایران است.",
        "یہ اردو زبان کا ایک جملہ ہے۔",
    ],
    "hebrew": [
        "שלום עולם",
        "ירושלים היא עיר עתיקה.",
        "אני אוהב לקרוא ספרים בערב.",
        "תודה רבה על העזרה.",
        "הילדים משחקים בגן.",
        "בְּרֵאשִׁית בָּרָא אֱלֹהִים אֵת הַשָּׁמַיִם וְאֵת הָאָרֶץ.",
        "תל אביב שוכנת על חוף הים התיכון.",
    ],
    "indic": [
        "नमस्ते दुनिया",
        "भारत एक विशाल देश है।",
        "मुझे किताबें पढ़ना पसंद है।",
        "दिल्ली भारत की राजधानी है।",
        "धन्यवाद, आपकी मदद के लिए।",
        "हम मशीन लर्निंग सीख रहे हैं।",
        "मुंबई महाराष्ट्राची राजधानी आहे।",
        "संस्कृतं जगतः एकतमा प्राचीना भाषा अस्ति।",
        "आज का तापमान ३२ डिग्री है।",
        "আমি বাংলায় গান গাই।",
        "வணக்கம் உலகம், தமிழ் ஒரு பழமையான மொழி.",
        "ਪੰਜਾਬੀ ਭਾਸ਼ਾ ਗੁਰਮੁਖੀ ਲਿਪੀ ਵਿੱਚ ਲਿਖੀ ਜਾਂਦੀ ਹੈ।",
    ],
    "thai": [
        "สวัสดีชาวโลก",
        "ประเทศไทยมีอาหารอร่อยมากมาย",
        "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
        "ฉันชอบอ่านหนังสือตอนเย็น",
        "ขอบคุณมากครับ",
        "วันนี้อากาศดีมาก เราไปเดินเล่นที่สวนกันเถอะ",
        "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    ],
    "chinese": [
        "你好，世界！",
        "北京是中国的首都。",
        "我喜欢在晚上看书。",
        "机器学习是人工智能的一个分支。",
        "今天天气很好，我们去公园散步吧。",
        "謝謝你的幫助。",
        "繁體中文與簡體中文都是中文。",
        "中华人民共和国成立于一九四九年。",
        "长城是世界上最长的建筑之一。",
        "学而时习之，不亦说乎？",
    ],
    "japanese": [
        "こんにちは世界",
        "東京は日本の首都です。",
        "私は毎晩本を読みます。",
        "ありがとうございます。",
        "カタカナとひらがなと漢字を使います。",
        "富士山は日本で一番高い山です。",
        "コンピューターで機械学習を勉強しています。",
        "いろはにほへと ちりぬるを わかよたれそ つねならむ",
    ],
    "korean": [
        "안녕하세요 세계",
        "서울은 대한민국의 수도입니다.",
        "저는 저녁에 책을 읽는 것을 좋아합니다.",
        "감사합니다.",
        "기계 학습은 인공지능의 한 분야입니다.",
        "한국어는 한글로 씁니다.",
        "오늘 날씨가 정말 좋네요!",
    ],
    "emoji": [
        "😀", "😂", "🥲", "🫠", "😍", "🤔", "👍", "👍🏻", "👍🏽", "👍🏿", "👋🏼", "✌🏿", "🙏🏾",
        "👩‍💻", "👨‍👩‍👧‍👦", "🧑🏻‍🚀", "🤦‍♀️", "🏳️‍🌈", "🏴‍☠️", "❤️", "❤", "☕", "⚽", "🎉",
        "🚀", "🔥", "✨", "💯", "🐍", "🦀", "🇺🇸", "🇯🇵", "🇩🇪", "🇫🇷", "🇧🇷", "1️⃣", "#️⃣",
        "©️", "™️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👨🏽‍🔬", "👩🏿‍🦱", "🧑‍🤝‍🧑", "😶‍🌫️",
    ],
}

EMOJI_TEXT = [
    "Great job 👍🏽!", "I love pizza 🍕 and coffee ☕.", "Happy birthday 🎉🎂🎈", "Ship it 🚀🚀🚀",
    "This is fire 🔥", "Pride 🏳️‍🌈 month", "The family 👨‍👩‍👧‍👦 went home.", "Coder 👩‍💻 at work",
    "Flags: 🇺🇸 🇯🇵 🇩🇪 🇫🇷", "Thanks 🙏🏾", "lol 😂😂", "❤️ you", "Astronaut 🧑🏻‍🚀 in space",
]

CODE = [
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "import json\n\nwith open(\"data.json\") as f:\n    data = json.load(f)\nprint(data[\"items\"][0])\n",
    "class Point:\n    def __init__(self, x: float, y: float) -> None:\n        self.x = x\n        self.y = y\n",
    "#include <vector>\n\nint main() {\n    std::vector<int> v{1, 2, 3};\n    for (int x : v) {\n        std::cout << x << '\\n';\n    }\n    return 0;\n}\n",
    "template <typename T>\nT clamp(T v, T lo, T hi) {\n\treturn v < lo ? lo : (v > hi ? hi : v);\n}\n",
    "const add = (a, b) => a + b;\nconsole.log(`sum: ${add(2, 3)}`);\n",
    "function greet(name) {\n  if (!name) {\n    throw new Error('name is required');\n  }\n  return \"Hello, \" + name + \"!\";\n}\n",
    "{\"id\": 42, \"name\": \"Ada Lovelace\", \"tags\": [\"math\", \"poetry\"], \"active\": true, \"score\": 3.14}\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name ASC LIMIT 10;\n",
    "for f in *.txt; do\n  wc -l \"$f\" | awk '{print $1}'\ndone\n",
    "<html>\n  <body>\n    <p class=\"note\">Hello &amp; welcome!</p>\n  </body>\n</html>\n",
    "fn main() {\n    let xs: Vec<u32> = (1..=10).map(|x| x * x).collect();\n    println!(\"{:?}\", xs);\n}\n",
    "x = [i ** 2 for i in range(10) if i % 2 == 0]  # squares of even numbers\n",
    "if (ptr != nullptr && ptr->size() > 0) { ptr->clear(); }\n",
    "git commit -m \"Fix off-by-one in tokenizer\" && git push origin main\n",
    "    return {\"loss\": loss.item(), \"lr\": scheduler.get_last_lr()[0]}\n",
    "\t\tif err != nil {\n\t\t\treturn nil, fmt.Errorf(\"open %s: %w\", path, err)\n\t\t}\n",
]

URLS = [
    "https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/tokenizer.json",
    "https://github.com/huggingface/tokenizers/issues/1234#issuecomment-987654321",
    "http://example.com/path/to/page?query=hello+world&lang=en#section-2",
    "https://en.wikipedia.org/wiki/Byte_pair_encoding",
    "ftp://ftp.example.org/pub/files/archive-2024.tar.gz",
    "mailto:someone@example.com",
    "https://www.例え.jp/パス?q=テスト",
    "https://docs.python.org/3/library/unicodedata.html#unicodedata.normalize",
    "www.google.com/search?q=tokenizer+byte+fallback",
    "user.name+tag@sub.domain.co.uk",
    "https://arxiv.org/abs/1508.07909v5",
    "s3://bucket-name/some/key/file_001.parquet",
]

NUMBERS = [
    "3.14159", "2.718281828", "1,234,567.89", "1.234.567,89", "2024-06-01T12:34:56Z", "+1 (555) 123-4567",
    "0x1F600", "0b101010", "1e-9", "6.022e23", "-42", "100%", "$19.99", "€5,00", "£3", "¥1000", "12:30",
    "10/03/2021", "v1.2.3", "127.0.0.1", "192.168.0.255:8080", "ISBN 978-3-16-148410-0", "404", "31337",
    "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "๐๑๒๓๔๕๖๗๘๙", "１２３４５", "Ⅻ", "½", "²³", "①②③",
]

ENGLISH_EXTRA = [
    "The quick brown fox jumps over the lazy dog.",
    "She said, \"It's not what you think.\" He replied, \"Isn't it?\"",
    "I'm sure they'll be here soon; we've waited long enough, haven't we?",
    "DON'T SHOUT! I'M RIGHT HERE. WE'RE ALL LISTENING, AREN'T WE? THEY'LL HEAR YOU. YOU'D BETTER STOP.",
    "You've got mail. It'd be nice if you'd reply. She's gone; he's home; they're out.",
    "Rock 'n' roll isn't dead -- it's just resting... or so they say.",
]

SPECIAL_STRINGS = [
    "<|endoftext|>", "<|padding|>", "<s>", "</s>", "<unk>", "[INST]", "[/INST]", "[TOOL_CALLS]",
    "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[control_8]",
    "[control_100]", "[control_768]", "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
    "<|end_header_id|>", "<|eot_id|>", "<|reserved_special_token_0|>", "<|reserved_special_token_4|>",
    "<|reserved_special_token_250|>", "<|im_start|>", "<|im_end|>", "<|extratoken_1|>",
    "<|extratoken_77|>", "<|extratoken_143|>",
]
NEAR_SPECIAL_STRINGS = [
    "<0x41>", "<0xFF>", "<0x0A>", "<|extratoken_144|>", "<|reserved_special_token_251|>", "[control_769]",
    "<S>", "<|ENDOFTEXT|>", "<|endoftext", "<|endoftext|", "|endoftext|>", "<s", "s>", "</s", "[INST",
    "INST]", "[/INST", "<|im_start", "<|eot_id", "<<SYS>>", "<</SYS>>", "< s >", "<|end of text|>",
]


# ---------------------------------------------------------------------------------------------
# Training text
# ---------------------------------------------------------------------------------------------

def _json_strings(value, out):
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _json_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _json_strings(v, out)


def _dedupe(items):
    seen, out = set(), []
    for s in items:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def _take(lines, budget):
    out, used = [], 0
    for line in lines:
        n = len(line.encode("utf-8")) + 1
        if used + n > budget:
            break
        out.append(line)
        used += n
    return out


def build_training_text():
    rng = random.Random(SEED)
    sections = []
    # 1. English prose (and markdown tables, code) from the repo's own files.
    prose = []
    for path in [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md")):
        prose += path.read_text(encoding="utf-8").splitlines()
    sections.append(_take(prose, 150_000))
    world = json.loads((REPO / "data/toy-world/world.json").read_text(encoding="utf-8"))
    strings = []
    _json_strings(world, strings)
    strings = [s for s in _dedupe(strings) if len(s) >= 3]
    world_lines, line = [], []
    for s in strings:  # world strings, joined into lines of a few hundred bytes
        line.append(s)
        if sum(len(x) + 1 for x in line) > 240:
            world_lines.append(" ".join(line))
            line = []
    if line:
        world_lines.append(" ".join(line))
    sections.append(_take(world_lines, 40_000))
    cases = json.loads((REPO / "data/toy-world/counterfact.json").read_text(encoding="utf-8"))
    prompts = []
    for case in cases:
        rw = case["requested_rewrite"]
        prompts.append(rw["prompt"].replace("{}", rw["subject"]) + " " + rw["target_true"]["str"] + ".")
        for key in ("paraphrase_prompts", "neighborhood_prompts", "attribute_prompts", "generation_prompts",
                    "mention_prompts"):
            prompts += case.get(key, [])
    sections.append(_take(_dedupe(prompts), 40_000))
    # 2. Generated multilingual text: every script gets enough repetitions for merges.
    multi = []
    for name in sorted(POOLS):
        pool = POOLS[name]
        budget = 9_000 if name != "emoji" else 6_000
        lines, used = [], 0
        while used < budget:
            if name == "emoji":
                k = rng.randint(1, 6)
                parts = [rng.choice(pool) for _ in range(k)]
                line = rng.choice(["", "Look ", "wow ", "ok "]) + rng.choice(["", " "]).join(parts)
                if rng.random() < 0.5:
                    line = rng.choice(EMOJI_TEXT) + " " + line
            else:
                k = rng.randint(1, 4)
                line = " ".join(rng.choice(pool) for _ in range(k))
                if rng.random() < 0.15:
                    line += " " + rng.choice(NUMBERS)
                if rng.random() < 0.1:
                    line += " " + rng.choice(POOLS["emoji"])
            lines.append(line)
            used += len(line.encode("utf-8")) + 1
        multi.append(lines)
    # interleave the languages so that no chunk is single-script
    for i in range(max(len(x) for x in multi)):
        for lines in multi:
            if i < len(lines):
                sections.append([lines[i]])
    # 3. Code, URLs, numbers, English with contractions.
    tech = []
    for _ in range(60):
        tech.append(rng.choice(CODE).rstrip("\n"))
        tech.append(" ".join(rng.choice(URLS) for _ in range(rng.randint(1, 3))))
        tech.append(" ".join(rng.choice(NUMBERS) for _ in range(rng.randint(2, 8))))
        tech.append(rng.choice(ENGLISH_EXTRA))
        tech.append(" ".join(rng.choice(EMOJI_TEXT) for _ in range(2)))
    sections.append(tech)
    text = "\n".join(line for section in sections for line in section) + "\n"
    for bad in SPECIAL_STRINGS:
        text = text.replace(bad, bad.replace("<", "(").replace(">", ")").replace("[", "(").replace("]", ")"))
    assert len(text.encode("utf-8")) <= 400_000, len(text.encode("utf-8"))
    return text


def training_chunks(text):
    """The training text as documents of about 30 lines each (newlines kept, so that merges of
    newline and indentation runs exist)."""
    lines = text.split("\n")
    return ["\n".join(lines[i:i + 30]) + "\n" for i in range(0, len(lines), 30)]


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def train(chunks, normalizer, pre_tokenizer, vocab_size, alphabet, limit_alphabet=None):
    tok = Tokenizer(models.BPE())
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    extra = {} if limit_alphabet is None else {"limit_alphabet": limit_alphabet}
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False, special_tokens=[],
                                  initial_alphabet=alphabet, **extra)
    tok.train_from_iterator(chunks, trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    assert [i for _, i in vocab] == list(range(len(vocab)))
    merges = [tuple(m) for m in model["merges"]]
    assert len(vocab) == vocab_size, (len(vocab), vocab_size)
    return [t for t, _ in vocab], merges


def byte_level_vocab(chunks, size, split_pattern=None, nfc=False):
    if split_pattern is None:
        pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split_pattern), behavior="isolated", invert=False),
                                       pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokens, merges = train(chunks, normalizers.NFC() if nfc else None, pre, size, pre_tokenizers.ByteLevel.alphabet())
    assert sorted(tokens[:256]) == sorted(pre_tokenizers.ByteLevel.alphabet())
    return tokens, merges


def spm_like_vocab(text, chunks, size, n_chars):
    """A SentencePiece-BPE-like vocabulary: the n_chars most frequent characters (spaces as "▁";
    control characters and other whitespace left to byte fallback) and merges up to `size`."""
    counts = collections.Counter(text.replace(" ", "▁"))
    chars = [c for c in counts if c == "▁" or not (unicodedata.category(c).startswith("C") or c.isspace()
                                                   or unicodedata.category(c) in ("Zs", "Zl", "Zp"))]
    chars.sort(key=lambda c: (-counts[c], ord(c)))
    alphabet = chars[:n_chars]
    norm = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    pre = pre_tokenizers.Split(Regex(SPM_TRAINING_PATTERN), behavior="isolated", invert=False)
    tokens, merges = train(chunks, norm, pre, size, alphabet, limit_alphabet=len(alphabet))
    assert sorted(tokens[:len(alphabet)]) == sorted(alphabet), "alphabet not as chosen"
    # SentencePiece's order: merged pieces by merge rank, then single characters by frequency.
    single = sorted(tokens[:len(alphabet)], key=lambda c: (-counts[c], ord(c)))
    return tokens[len(alphabet):] + single, merges


def truncate_merges(tokens, merges, keep):
    """A BPE prefix: the first `keep` tokens of a byte-level vocabulary and the merges that make them."""
    kept = set(tokens[:keep])
    out = []
    for a, b in merges:
        if a + b not in kept:
            break
        out.append((a, b))
    return tokens[:keep], out


# ---------------------------------------------------------------------------------------------
# Published layouts
# ---------------------------------------------------------------------------------------------

def added_old(id_, content, special, normalized):
    """tokenizers <= 0.13's AddedToken layout (gpt2, gpt-j, gpt-neox-20b files)."""
    return {"id": id_, "special": special, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": normalized}


def added_new(id_, content, special, normalized):
    """tokenizers >= 0.14's AddedToken layout (Llama 2, Llama 3, Qwen2, Mistral files)."""
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": normalized, "special": special}


def template_bos(bos, bos_id):
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}


LLAMA_DECODER = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}


def vocab_dict(tokens):
    d = {}
    for i, t in enumerate(tokens):
        assert t not in d, f"duplicate token {t!r}"
        d[t] = i
    return d


def string_merges(merges):
    for a, b in merges:
        assert " " not in a and " " not in b, (a, b)
    return [f"{a} {b}" for a, b in merges]


def added_token_config(content):
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
            "special": True}


def token_config_old(content):  # Llama 2's "__type": "AddedToken" form
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False}


def special_map_entry(content):
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}


class Fixture:
    def __init__(self, name, tokenizer_json, api, files, ensure_ascii=False, serialized=None, api_overrides=None):
        self.name = name
        # Top-level parts whose settings tokenizers' Python API cannot express (its
        # processors.ByteLevel and decoders.ByteLevel take no add_prefix_space / use_regex, its
        # pre_tokenizers.ByteLevel no trim_offsets): how tokenizers 0.21 must read them instead.
        self.api_overrides = api_overrides or {}
        self.tokenizer_json = tokenizer_json  # dict in the published layout (None: `serialized` is used)
        self.api = api  # the same pipeline built with tokenizers' Python API (to check the layout)
        self.files = files  # other files: name -> JSON value
        self.ensure_ascii = ensure_ascii
        self.serialized = serialized


def api_tokenizer(model, normalizer, pre_tokenizer, post_processor, decoder, added):
    tok = Tokenizer(model)
    if normalizer is not None:
        tok.normalizer = normalizer
    if pre_tokenizer is not None:
        tok.pre_tokenizer = pre_tokenizer
    if post_processor is not None:
        tok.post_processor = post_processor
    if decoder is not None:
        tok.decoder = decoder
    for entry in added:  # in id order, one at a time (ids follow the model's vocabulary)
        token = AddedToken(entry["content"], single_word=False, lstrip=False, rstrip=False,
                           normalized=entry["normalized"], special=entry["special"])
        if entry["special"]:
            tok.add_special_tokens([token])
        else:
            tok.add_tokens([token])
    return tok


def make_fixtures(text):
    chunks = training_chunks(text)
    fixtures = []
    t0 = time.time()

    # --- GPT-2 (openai-community/gpt2) and GPT-J (EleutherAI/gpt-j-6b) --------------------------
    gpt_tokens, gpt_merges = byte_level_vocab(chunks, ID_RANGE - 1)
    print(f"  trained gpt2 ({len(gpt_merges)} merges, {time.time() - t0:.1f} s)", flush=True)
    for name in ("gpt2", "gptj"):
        if name == "gpt2":
            tokens, merges = gpt_tokens, gpt_merges
        else:
            tokens, merges = truncate_merges(gpt_tokens, gpt_merges, ID_RANGE - 143 - 1)
        eot = len(tokens)
        vocab = tokens + ["<|endoftext|>"]
        added = [added_old(eot, "<|endoftext|>", True, True)]
        if name == "gptj":
            added += [added_old(eot + i, f"<|extratoken_{i}|>", False, True) for i in range(1, 144)]
        tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
              "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
              "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False},
              "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True},
              "model": {"dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                        "fuse_unk": False, "vocab": vocab_dict(vocab), "merges": string_merges(merges)}}
        if name == "gptj":  # transformers-written (2022): the model carries its type
            tj["model"] = {"type": "BPE", **tj["model"]}
        api = api_tokenizer(
            models.BPE(vocab_dict(vocab), merges, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False),
            None, pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
            processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
            decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True), added)
        if name == "gpt2":
            files = {"tokenizer_config.json": {"model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer"}}
        else:
            files = {
                "tokenizer_config.json": {"add_prefix_space": False, "bos_token": "<|endoftext|>",
                                          "eos_token": "<|endoftext|>", "model_max_length": 2048,
                                          "special_tokens_map_file": None, "tokenizer_class": "GPT2Tokenizer",
                                          "unk_token": "<|endoftext|>"},
                "special_tokens_map.json": {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                                            "unk_token": "<|endoftext|>"},
                "added_tokens.json": {f"<|extratoken_{i}|>": eot + i for i in range(1, 144)},
            }
        fixtures.append(Fixture(name, tj, api, files, ensure_ascii=True))

    # --- GPT-NeoX-20B / Pythia (EleutherAI/gpt-neox-20b) ----------------------------------------
    spaces = [" " * n for n in range(24, 1, -1)]  # 24 spaces first, as published (ids 50254..50276)
    tokens, merges = byte_level_vocab(chunks, ID_RANGE - 2 - len(spaces), nfc=True)
    print(f"  trained neox ({len(merges)} merges, {time.time() - t0:.1f} s)", flush=True)
    vocab = ["<|endoftext|>", "<|padding|>"] + tokens
    added = [added_old(0, "<|endoftext|>", True, False), added_old(1, "<|padding|>", True, False)]
    added += [added_old(len(vocab) + i, s, False, True) for i, s in enumerate(spaces)]
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
          "normalizer": {"type": "NFC"},
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
          "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
          "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                    "end_of_word_suffix": None, "fuse_unk": False, "vocab": vocab_dict(vocab),
                    "merges": string_merges(merges)}}
    api = api_tokenizer(models.BPE(vocab_dict(vocab), merges, fuse_unk=False), normalizers.NFC(),
                        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
                        processors.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
                        decoders.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True), added)
    files = {"tokenizer_config.json": {"add_prefix_space": False, "bos_token": "<|endoftext|>",
                                       "eos_token": "<|endoftext|>", "tokenizer_class": "GPTNeoXTokenizer",
                                       "unk_token": "<|endoftext|>"},
             "special_tokens_map.json": {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                                         "unk_token": "<|endoftext|>"}}
    neox_byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    fixtures.append(Fixture("neox", tj, api, files, ensure_ascii=True,
                            api_overrides={"post_processor": neox_byte_level, "decoder": neox_byte_level}))

    # --- Llama 2 (meta-llama/Llama-2-7b-hf), three ways ---------------------------------------
    head = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens, merges = spm_like_vocab(text, chunks, ID_RANGE - len(head), 240)
    print(f"  trained llama2 ({len(merges)} merges, {time.time() - t0:.1f} s)", flush=True)
    vocab = head + tokens
    added = [added_new(i, t, True, False) for i, t in enumerate(["<unk>", "<s>", "</s>"])]
    llama_model = dict(type="BPE", dropout=None, unk_token="<unk>", continuing_subword_prefix=None,
                       end_of_word_suffix=None, fuse_unk=True, byte_fallback=True)
    for name in ("llama2-legacy", "llama2", "llama2-eos"):
        legacy = name != "llama2"
        norm = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]) if legacy else None
        pre = None if legacy else pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
        api = api_tokenizer(models.BPE(vocab_dict(vocab), merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True),
                            norm, pre, processors.TemplateProcessing(single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1",
                                                                     special_tokens=[("<s>", 1)]),
                            decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                               decoders.Strip(" ", 1, 0)]), added)
        config = {"add_bos_token": True, "add_eos_token": name == "llama2-eos", "bos_token": token_config_old("<s>"),
                  "clean_up_tokenization_spaces": False, "eos_token": token_config_old("</s>"), "legacy": legacy,
                  "model_max_length": HUGE, "pad_token": None, "padding_side": "right", "sp_model_kwargs": {},
                  "tokenizer_class": "LlamaTokenizer", "unk_token": token_config_old("<unk>")}
        files = {"tokenizer_config.json": config,
                 "special_tokens_map.json": {"bos_token": special_map_entry("<s>"), "eos_token": special_map_entry("</s>"),
                                             "unk_token": special_map_entry("<unk>")}}
        if legacy:
            tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
                  "normalizer": {"type": "Sequence", "normalizers": [
                      {"type": "Prepend", "prepend": "▁"},
                      {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
                  "pre_tokenizer": None, "post_processor": template_bos("<s>", 1), "decoder": LLAMA_DECODER,
                  "model": {**llama_model, "vocab": vocab_dict(vocab), "merges": string_merges(merges)}}
            fixtures.append(Fixture(name, tj, api, files))
        else:
            # What transformers 4.47's LlamaConverter (legacy=False) and LlamaTokenizerFast write,
            # serialized as tokenizers 0.21 saves it (save_pretrained: pretty, merges as pairs).
            fixtures.append(Fixture(name, None, api, files, serialized=api.to_str(pretty=True)))

    # --- Meta-Llama-3 (meta-llama/Meta-Llama-3-8B) ---------------------------------------------
    tokens, merges = byte_level_vocab(chunks, ID_RANGE - len(LLAMA3_SPECIALS), split_pattern=LLAMA3_PATTERN)
    print(f"  trained llama3 ({len(merges)} merges, {time.time() - t0:.1f} s)", flush=True)
    added = [added_new(len(tokens) + i, t, True, False) for i, t in enumerate(LLAMA3_SPECIALS)]
    bot = len(tokens)
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
              {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
          "post_processor": {"type": "Sequence", "processors": [
              {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
              template_bos("<|begin_of_text|>", bot)]},
          "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                    "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                    "vocab": vocab_dict(tokens), "merges": string_merges(merges)}}
    api = api_tokenizer(
        models.BPE(vocab_dict(tokens), merges, fuse_unk=False, byte_fallback=False, ignore_merges=True), None,
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)]),
        processors.Sequence([processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
                             processors.TemplateProcessing(
                                 single="<|begin_of_text|>:0 $A:0",
                                 pair="<|begin_of_text|>:0 $A:0 <|begin_of_text|>:1 $B:1",
                                 special_tokens=[("<|begin_of_text|>", bot)])]),
        decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True), added)
    files = {"tokenizer_config.json": {
        "added_tokens_decoder": {str(e["id"]): added_token_config(e["content"]) for e in added},
        "bos_token": "<|begin_of_text|>", "clean_up_tokenization_spaces": True, "eos_token": "<|end_of_text|>",
        "model_input_names": ["input_ids", "attention_mask"], "model_max_length": HUGE,
        "tokenizer_class": "PreTrainedTokenizerFast"},
        "special_tokens_map.json": {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}}
    fixtures.append(Fixture("llama3", tj, api, files))

    # --- Qwen2 (Qwen/Qwen2-7B) -----------------------------------------------------------------
    qwen_specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens, merges = byte_level_vocab(chunks, ID_RANGE - len(qwen_specials), split_pattern=QWEN2_PATTERN, nfc=True)
    print(f"  trained qwen2 ({len(merges)} merges, {time.time() - t0:.1f} s)", flush=True)
    added = [added_new(len(tokens) + i, t, True, False) for i, t in enumerate(qwen_specials)]
    byte_level_qwen = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
          "normalizer": {"type": "NFC"},
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
              dict(byte_level_qwen)]},
          "post_processor": dict(byte_level_qwen), "decoder": dict(byte_level_qwen),
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                    "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                    "vocab": vocab_dict(tokens), "merges": string_merges(merges)}}
    api = api_tokenizer(
        models.BPE(vocab_dict(tokens), merges, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False),
        normalizers.NFC(),
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)]),
        processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False), added)
    files = {"tokenizer_config.json": {
        "add_prefix_space": False,
        "added_tokens_decoder": {str(e["id"]): added_token_config(e["content"]) for e in added},
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"], "bos_token": None,
        "chat_template": ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                          "{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}"
                          "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
                          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"),
        "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>", "errors": "replace",
        "model_max_length": 32768, "pad_token": "<|endoftext|>", "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer", "unk_token": None}}
    fixtures.append(Fixture("qwen2", tj, api, files, api_overrides={
        "pre_tokenizer": tj["pre_tokenizer"], "post_processor": byte_level_qwen, "decoder": byte_level_qwen}))

    # --- Mistral-7B-v0.3 (mistralai/Mistral-7B-v0.3) -------------------------------------------
    head = MISTRAL_CONTROLS + [f"<0x{b:02X}>" for b in range(256)]
    tokens, merges = spm_like_vocab(text, chunks, ID_RANGE - len(head), 200)
    print(f"  trained mistral ({len(merges)} merges, {time.time() - t0:.1f} s)", flush=True)
    vocab = head + tokens
    added = [added_new(i, t, True, False) for i, t in enumerate(MISTRAL_CONTROLS)]
    metaspace = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
          "pre_tokenizer": metaspace, "post_processor": template_bos("<s>", 1), "decoder": LLAMA_DECODER,
          "model": {**llama_model, "ignore_merges": False, "vocab": vocab_dict(vocab), "merges": string_merges(merges)}}
    api = api_tokenizer(models.BPE(vocab_dict(vocab), merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True),
                        None, pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False),
                        processors.TemplateProcessing(single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1",
                                                      special_tokens=[("<s>", 1)]),
                        decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                           decoders.Strip(" ", 1, 0)]), added)
    files = {"tokenizer_config.json": {
        "add_bos_token": True, "add_eos_token": False,
        "added_tokens_decoder": {str(e["id"]): added_token_config(e["content"]) for e in added},
        "bos_token": "<s>", "clean_up_tokenization_spaces": False, "eos_token": "</s>", "legacy": False,
        "model_max_length": HUGE, "pad_token": None, "sp_model_kwargs": {}, "spaces_between_special_tokens": False,
        "tokenizer_class": "LlamaTokenizer", "unk_token": "<unk>", "use_default_system_prompt": False},
        "special_tokens_map.json": {"bos_token": special_map_entry("<s>"), "eos_token": special_map_entry("</s>"),
                                    "unk_token": special_map_entry("<unk>")}}
    fixtures.append(Fixture("mistral", tj, api, files))
    return fixtures


def dump_json(value, ensure_ascii=False):
    return json.dumps(value, indent=2, ensure_ascii=ensure_ascii) + "\n"


def write_fixture(fx):
    out = FIXTURES / fx.name
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    text = fx.serialized if fx.serialized is not None else dump_json(fx.tokenizer_json, fx.ensure_ascii)
    if not text.endswith("\n"):
        text += "\n"
    (out / "tokenizer.json").write_text(text, encoding="utf-8")
    for fname, value in fx.files.items():
        (out / fname).write_text(dump_json(value), encoding="utf-8")
    # The layout must be what the API-built pipeline is (same components, settings and ids).
    loaded = Tokenizer.from_file(str(out / "tokenizer.json"))
    got, want = json.loads(loaded.to_str()), json.loads(fx.api.to_str())
    want.update(fx.api_overrides)
    if got != want:
        keys = [k for k in want if got.get(k) != want[k]]
        detail = {k: (got.get(k), want[k]) for k in keys if k != "model"}
        if "model" in keys:
            detail["model"] = {k: (got["model"].get(k), v) for k, v in want["model"].items()
                               if got["model"].get(k) != v and k not in ("vocab", "merges")}
            detail["model"]["vocab/merges equal"] = (got["model"]["vocab"] == want["model"]["vocab"],
                                                     got["model"]["merges"] == want["model"]["merges"])
        sys.exit(f"{fx.name}: tokenizer.json does not load as the intended pipeline: {str(detail)[:3000]}")
    # Added-token ids as written must be the ids tokenizers gives them.
    raw = json.loads(text)
    for entry in raw["added_tokens"]:
        if loaded.token_to_id(entry["content"]) != entry["id"]:
            sys.exit(f"{fx.name}: added token {entry['content']!r} loads as {loaded.token_to_id(entry['content'])}")
    ids = list(raw["model"]["vocab"].values()) + [e["id"] for e in raw["added_tokens"]]
    assert max(ids) + 1 == ID_RANGE, (fx.name, max(ids) + 1)
    assert sorted(set(ids)) == list(range(ID_RANGE)), f"{fx.name}: ids are not 0..{ID_RANGE - 1} without gaps"
    return loaded


# ---------------------------------------------------------------------------------------------
# Test strings
# ---------------------------------------------------------------------------------------------

def build_strings():
    rng = random.Random(SEED + 1)
    out = []

    def add(*items):
        out.extend(items)

    add("", " ", "  ", "a", "A", "Hello world", "Hello, world!", " Hello world", "Hello world ", "hello\nworld",
        "The quick brown fox jumps over the lazy dog.", "editlab edits models.", ".", ",", "'", "\"", "a b c",
        "Hello", " Hello", "  Hello", "HELLO", "hElLo", "hello.", "...", "!!!", "?!", "a.b", "a,b", "a-b", "a_b")
    add(*ENGLISH_EXTRA)
    # every script: the pool sentences, single words, and pairs of scripts side by side
    for name in sorted(POOLS):
        for s in POOLS[name]:
            add(s)
            if name != "emoji":
                words = s.split()
                add(words[0], " " + words[-1])
    scripts = sorted(n for n in POOLS if n != "emoji")
    for i, name in enumerate(scripts):
        other = scripts[(i + 5) % len(scripts)]
        add(POOLS[name][0] + POOLS[other][1], POOLS[name][1] + " " + POOLS[other][0],
            POOLS[name][2] + "\n" + POOLS[other][2])
    add(*EMOJI_TEXT)
    # scripts not in the training text (unseen characters, astral planes)
    add("Բարև աշխարհ", "გამარჯობა მსოფლიო", "ሰላም ለዓለም", "សួស្តី​ពិភពលោក", "བཀྲ་ཤིས་བདེ་ལེགས།", "ᠮᠣᠩᠭᠣᠯ",
        "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ", "𐌰𐌱𐌲𐌳", "𐀀𐀁𐀂", "𝐀𝐁𝐂 𝑥𝑦𝑧 𝟘𝟙𝟚", "𝄞𝄢", "𠀀𠀁𠀂", "𓀀𓀁𓂀", "ꦗꦮ", "ᚠᚢᚦᚨᚱᚲ",
        "ⴰⵣⵓⵍ", "ߒߞߏ", "ܫܠܡܐ", "ދިވެހި", "ᑕᓂᓯ", "ᜊᜌ᜔ᜊᜌᜒᜈ᜔", "ꆈꌠꁱꂷ", "𞤀𞤁𞤂")
    # emoji: alone, repeated, broken sequences, modifiers alone, variation selectors, flags, tags
    emoji_extra = ["🏻", "🏽", "🏿", "\u200d", "👩\u200d", "\u200d💻", "👩🏽\u200d💻", "❤\ufe0f", "❤\ufe0e", "☺\ufe0e",
                   "☺\ufe0f", "☺", "\ufe0f", "a\ufe0f", "🇺", "🇺🇸🇯", "🇺🇸🇯🇵🇩🇪", "🏴", "\U000e0067\U000e0062",
                   "1\ufe0f\u20e3", "1\u20e3", "👨‍👩‍👧‍👦👨‍👩‍👧‍👦", "😀😀😀😀😀", "😀 😀", " 😀", "😀 ", "a😀b",
                   "😀\n😀", "🫶🏼", "🧔🏾‍♂️", "👁️‍🗨️", "🐻‍❄️", "🧑‍🧑‍🧒‍🧒"]
    add(*emoji_extra)
    for e in POOLS["emoji"]:
        add(e + e, "x" + e + " y")
    # whitespace runs and the whitespace-run added tokens (gpt-neox-20b's 2..24 spaces)
    for n in range(1, 31):
        sp = " " * n
        add(sp, "a" + sp + "b", sp + "a", "a" + sp, "\n" + sp + "x", "x" + sp + "\n", "\t" + sp, sp + "\t" + sp)
    for n in range(1, 9):
        add("\t" * n, "a" + "\t" * n + "b", "\n" * n, "a" + "\n" * n + "b", " " + "\n" * n, "\n" * n + " ")
    for n in range(1, 5):
        add("\r\n" * n, "a" + "\r\n" * n + "b", "\r" * n, "a\r" * n)
    add(" \t\n", "\n \t", " \n ", "a \nb", "a\n b", "a \n b", "a\r\n b", "a \r\n", "\n a", " \n\n ", "a\n\n\nb",
        "\t\ta\n\t\tb", "  \n  \n  ", "x \t \t y", "end.  ", "  start", "  both  ", "\n\n\nHello\n\n\n",
        "def f():\n    return 1\n", "if x:\n        y()\n    else:\n        z()", "\v", "\f", "a\vb", "a\fb")
    # Unicode spaces and invisible characters
    uspaces = ["\u00a0", "\u1680", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007",
               "\u2008", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u0085", "\ufeff",
               "\u200b", "\u200c", "\u200d", "\u2060", "\u180e", "\u00ad"]
    for c in uspaces:
        add(c, "a" + c + "b", c * 3, " " + c, c + " ", "a " + c + " b", c + "a")
    add("\ufeffHello", "Hello\ufeff", "日本\u3000語", "\u3000\u3000", "a\u00a0\u00a0b", "1\u00a0000")
    # digits
    digits = "12345678901234567890"
    for n in range(1, 21):
        d = digits[:n]
        add(d, "x" + d + "y", " " + d, d + " ", "".join(rng.choice("0123456789") for _ in range(n)))
    add("a1", "abc123def", "1a2b3c", "123abc", "abc 123", "12.34", "1,000", "1 000 000", "-5", "+7", "3.14e10",
        "2024", " 2024", "in 1999,", "0.5", ".5", "5.", "007", "x86_64", "H2O", "COVID-19", "4K", "mp3", "1st 2nd 3rd 4th")
    add(*NUMBERS)
    # contractions (lower and upper case, the ones the regexes list and others)
    for c in ["s", "t", "re", "ve", "ll", "d", "m"]:
        for w in ["he", "it", "they", "I", "we", "you"]:
            add(f"{w}'{c}", f"{w.upper()}'{c.upper()}")
        add(f"'{c}", f"'{c.upper()}", f" '{c}", f"x'{c}y", f"'{c}'{c}", f"''{c}", f"\u2019{c}", f"a\u2019{c.upper()}")
    add("don't", "DON'T", "Don'T", "isn't", "ISN'T", "I'm", "I'M", "we're", "WE'RE", "we'Re", "it's", "IT'S", "y'all",
        "rock 'n' roll", "'quoted'", "''", "'''", "'", " ' ", "o'clock", "O'CLOCK", "it’s", "I'll've", "'tis")
    # code and URLs
    add(*CODE)
    add(*URLS)
    add("<a href=\"https://example.com\">link</a>", "path/to/file.txt", "C:\\Users\\name\\file.txt",
        "~/.bashrc", "foo@bar.com", "#hashtag @mention", "key=value&other=1", "a->b", "a=>b", "x!=y", "i++",
        "/* comment */", "// comment", "<!-- html -->", "$HOME", "%PATH%", "${var}", "{{template}}", "[[link]]")
    # control characters
    for cp in list(range(0x00, 0x20)) + [0x7f]:
        c = chr(cp)
        add(c, "a" + c + "b")
    add("\x00\x00", "a\x00", "\x1b[31mred\x1b[0m", "\x80", "a\x85b", "\x9f", "\x7f\x7f")
    # special tokens of every family, inside text and next to text and whitespace
    for t in SPECIAL_STRINGS:
        add(t, "a" + t + "b", " " + t + " ", t + t, "hello " + t, t + " hello", "\n" + t + "\n", "x" + t, t + "x",
            "  " + t + "  ", t + "\n", "é" + t + "日本")
    for t in NEAR_SPECIAL_STRINGS:
        add(t, "a" + t + "b", " " + t + " ")
    add("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
        "<|im_start|>assistant\n",
        "<s>[INST] What is your favourite condiment? [/INST]Well, I'm quite partial to lemon.</s> [INST] Do you "
        "have mayonnaise recipes? [/INST]",
        "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello [/INST] Hi!</s>",
        "[INST]hi[/INST]", "[INST] hi [/INST]", " <s> ", "<s>", "<s><s>", "</s><s>", "a<|endoftext|>b",
        "<|endoftext|><|endoftext|>", "text<|endoftext|>\n\nmore text<|endoftext|>", "[TOOL_CALLS] [{\"name\": \"f\"}]",
        "<|extratoken_1|><|extratoken_2|>", "<|padding|><|padding|>", "<|im_start|><|im_end|>", "<unk>x<unk>")
    # compatibility and decomposed characters (NFC / NFKC)
    add("e\u0301", "é", "cafe\u0301", "café", "A\u030a", "Å", "\u212b", "\u2126", "Ω", "ﬁ", "ﬂ", "ﬃ", "ﬁnance",
        "①", "②③", "⑴", "⒈", "Ｈｅｌｌｏ", "ＡＢＣ１２３", "ｶﾀｶﾅ", "ﾊﾟﾋﾟﾌﾟ", "\u1100\u1161\u11a8", "각",
        "\u1112\u1161\u11ab\u1100\u1173\u11af", "한글", "ǅ", "Ǆ", "™", "…", "ℌ", "ℍ", "x²", "H₂O", "㎏", "㍿", "㈱",
        "a\u0308\u0301", "o\u0308", "ö", "u\u0308\u0304", "n\u0303", "ñ", "\u0340", "\u0341", "\u0344", "\u0958",
        "\u0915\u093c", "\u1e9b\u0323", "\u00c7", "C\u0327", "s\u0323\u0307", "\u1e69", "q\u0307\u0323",
        "Z̷̢̛a̶̡l̸g̴o̵", "\u05d1\u05bc", "\ufb31", "\u0f77", "\u2000", "\u2126\u212a\u212b", "\uff21\u0301",
        "\u3099", "か\u3099", "が", "\u30ab\u3099", "\u00bd", "\u2153", "\u2460\u2461", "\u24b6", "\u2474",
        "ſ", "ß", "ẞ", "İ", "ı", "ŉ", "ǰ", "ΐ", "\u0390")
    # long words and long runs
    add("a" * 200, "ab" * 120, "abc" * 100, "Pneumonoultramicroscopicsilicovolcanoconiosis" * 5,
        "x" * 257, "7" * 300, " " * 300, "\n" * 64, "-" * 210, "=" * 80, "日本語" * 80, "😀" * 60, "ก" * 210,
        "é" * 205, "Ж" * 220, "e\u0301" * 110, "abcdefghijklmnopqrstuvwxyz" * 9, "".join(POOLS["chinese"]) * 3,
        "a " * 150, " a" * 150, "\t" * 100, "🏽" * 40, "<|endoftext|>" * 20, "▁" * 50, "▁a▁b ▁ c")
    # punctuation, symbols, odd code points (valid scalar values only)
    add("—", "–", "“quotes”", "‘single’", "«guillemets»", "„Anführung“", "¡¿", "∑∫√∞≠≤≥", "€£¥₹₿", "←↑→↓⇄",
        "┌─┐│└┘", "⠓⠑⠇⠇⠕", "♠♣♥♦", "★☆", "©®", "§¶†‡", "°C", "µm", "‰", "\u2026\u2026", "•", "·", "‽", "⁂",
        "\ue000", "\uf8ff", "\ufffd", "\ufffc", "\ufffe", "\uffff", "\U0010ffff", "\U0001fffe", "\U000e0001",
        "\U000f0000", "\u0378", "\u2fff", "a\ufffdb", "\ufdd0", "\u061c", "\u200e\u200f", "\u202e abc \u202c",
        "\u0600", "\u0e3f", "ꯁꯥ", "\u1cf8", "▁", "▁▁", "▁hello", "Ġ", "Ġhello", "Ċ", "ĠĠ", "Ã©")
    # random mixes from a seeded RNG
    words = [w for name in sorted(POOLS) if name != "emoji" for s in POOLS[name] for w in s.split()]
    words += "the of and to in is that it was for on are as with his they at be this have from".split()
    pieces = [
        (lambda: rng.choice(words), 30),
        (lambda: rng.choice(POOLS["emoji"] + emoji_extra), 6),
        (lambda: rng.choice([" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\u00a0", "\u3000",
                             " " * rng.randint(4, 26)]), 25),
        (lambda: "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12))), 6),
        (lambda: rng.choice(".,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`"), 10),
        (lambda: rng.choice(SPECIAL_STRINGS + NEAR_SPECIAL_STRINGS), 4),
        (lambda: chr(rng.choice(list(range(0, 32)) + [127])), 2),
        (lambda: rng.choice(["\u0301", "\u0308", "\u0323", "\u200d", "\ufe0f", "\u3099", "\u05bc"]), 2),
        (lambda: rng.choice(["'s", "'S", "'t", "'T", "'re", "'RE", "'ve", "'VE", "'ll", "'LL", "'d", "'D", "'m", "'M"]), 3),
        (lambda: random_char(rng), 6),
    ]
    fns = [f for f, _ in pieces]
    weights = [w for _, w in pieces]
    out = _dedupe(out)
    seen = set(out)
    while len(out) < 2400:
        n = rng.randint(1, 24)
        s = "".join(rng.choices(fns, weights)[0]() for _ in range(n))
        if s not in seen:
            seen.add(s)
            out.append(s)
    for s in out:
        s.encode("utf-8")  # valid scalar values only (raises on a lone surrogate)
    return out


RANDOM_RANGES = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x5ff), (0x600, 0x6ff),
                 (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x3040, 0x30ff),
                 (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xff00, 0xffef), (0x1f300, 0x1faff), (0x10000, 0x1007f),
                 (0x20000, 0x2a6df), (0xe0000, 0xe007f)]


def random_char(rng):
    lo, hi = rng.choice(RANDOM_RANGES)
    return chr(rng.randint(lo, hi))


# ---------------------------------------------------------------------------------------------
# Goldens
# ---------------------------------------------------------------------------------------------



def decode_sequences(name, tok, strings, encodings, rng):
    """>= 500 id sequences: encodings of a few hundred strings, pieces of encodings that cut
    multi-byte characters, random ids, special-token mixes, byte-token runs."""
    n_ids = tok.get_vocab_size(with_added_tokens=True)
    vocab = tok.get_vocab(with_added_tokens=True)
    specials = sorted(i for t, i in vocab.items() if tok.decode([i], skip_special_tokens=True) == "" and
                      tok.decode([i], skip_special_tokens=False) != "")
    if any(t.startswith("<0x") and len(t) == 6 for t in vocab):
        byte_ids = [vocab[f"<0x{b:02X}>"] for b in range(256)]
    else:
        b2u = bytes_to_unicode()
        byte_ids = [vocab[b2u[b]] for b in range(256)]
    seqs = []
    for i in range(0, len(strings), 8):  # ~300 encodings, with special tokens
        seqs.append(encodings[i]["ids"])
    non_ascii = [i for i, s in enumerate(strings) if any(ord(c) > 0x7f for c in s) and len(encodings[i]["ids_plain"]) > 2]
    for _ in range(120):  # cuts through multi-byte characters
        ids = encodings[rng.choice(non_ascii)]["ids_plain"]
        a = rng.randint(0, len(ids) - 1)
        b = rng.randint(a + 1, len(ids))
        seqs.append(ids[a:b] if (a, b) != (0, len(ids)) else ids[1:])
    for _ in range(60):  # random ids over the whole range
        seqs.append([rng.randrange(n_ids) for _ in range(rng.randint(1, 24))])
    for _ in range(50):  # special tokens among ordinary ones
        seq = []
        for _ in range(rng.randint(1, 12)):
            seq.append(rng.choice(specials) if rng.random() < 0.4 else rng.randrange(n_ids))
        seqs.append(seq)
    for _ in range(40):  # byte tokens only (invalid UTF-8 runs, truncated sequences)
        seqs.append([rng.choice(byte_ids) for _ in range(rng.randint(1, 10))])
    utf8 = "é日😀ж".encode("utf-8")
    for k in range(1, len(utf8) + 1):  # every prefix of a 2-, 3-, 4-byte mix
        seqs.append([byte_ids[b] for b in utf8[:k]])
    seqs.append([])
    seqs.append([byte_ids[0x41], byte_ids[0xe6]] + [byte_ids[0x42]])
    seqs.append([byte_ids[0xe6], byte_ids[0x97]] + specials[:1] + [byte_ids[0xa5]])
    assert len(seqs) >= 500, len(seqs)
    return [[int(x) for x in s] for s in seqs]


def write_goldens(fixtures, strings):
    GOLDEN.mkdir(parents=True, exist_ok=True)
    ref = (f"tokenizers {tokenizers.__version__} and transformers {transformers.__version__} (Python "
           f"{platform.python_version()}): encode ids = transformers AutoTokenizer.from_pretrained(dir)(text, "
           f"add_special_tokens=True/False)['input_ids'] (with ids = the ids with special tokens, ids_plain = "
           f"without); decode text = tokenizers Tokenizer.from_file(dir/tokenizer.json).decode(ids, "
           f"skip_special_tokens=False), text_skip_special = the same with skip_special_tokens=True")
    disagreements = {}
    for fx in fixtures:
        d = str(FIXTURES / fx.name)
        hf = AutoTokenizer.from_pretrained(d)
        tk = Tokenizer.from_file(str(FIXTURES / fx.name / "tokenizer.json"))
        encodings, mismatch = [], []
        for i, s in enumerate(strings):
            ids = hf(s, add_special_tokens=True)["input_ids"]
            plain = hf(s, add_special_tokens=False)["input_ids"]
            t_ids = tk.encode(s, add_special_tokens=True).ids
            t_plain = tk.encode(s, add_special_tokens=False).ids
            if ids != t_ids or plain != t_plain:
                mismatch.append((i, ids != t_ids, plain != t_plain))
            encodings.append({"ids": ids, "ids_plain": plain})
        disagreements[fx.name] = mismatch
        kind = type(hf).__name__
        if mismatch:
            n_s = sum(1 for m in mismatch if m[1])
            n_p = sum(1 for m in mismatch if m[2])
            print(f"  {fx.name} ({kind}): transformers and tokenizers DISAGREE on {len(mismatch)} strings "
                  f"({n_s} with special tokens, {n_p} without); first: string {mismatch[0][0]} "
                  f"{strings[mismatch[0][0]]!r}", flush=True)
            if fx.name != "llama2-eos":
                sys.exit(f"{fx.name}: transformers and tokenizers disagree (only llama2-eos may)")
        else:
            print(f"  {fx.name} ({kind}): transformers and tokenizers agree on all {len(strings)} strings", flush=True)
        if fx.name == "llama2-eos":
            eos = tk.token_to_id("</s>")
            assert all(e["ids"] and e["ids"][-1] == eos for e in encodings), "llama2-eos: EOS not appended"
        rng = random.Random(SEED + zlib.crc32(fx.name.encode()))
        seqs = decode_sequences(fx.name, tk, strings, encodings, rng)
        decodes = [{"ids": s, "text": tk.decode(s, skip_special_tokens=False),
                    "text_skip_special": tk.decode(s, skip_special_tokens=True)} for s in seqs]
        path = GOLDEN / f"{fx.name}.json"
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write("{\"tokenizer\": " + json.dumps(fx.name) + ",\n")
            f.write("\"reference\": " + json.dumps(ref + f"; AutoTokenizer class {kind}") + ",\n")
            f.write(f"\"id_range\": {ID_RANGE},\n")
            f.write("\"encode\": [\n")
            f.write(",\n".join(json.dumps(e, separators=(",", ":")) for e in encodings))
            f.write("\n],\n\"decode\": [\n")
            f.write(",\n".join(json.dumps(e, separators=(",", ":"), ensure_ascii=True) for e in decodes))
            f.write("\n]}\n")
        print(f"  wrote {path.relative_to(REPO)} ({path.stat().st_size / 1e6:.2f} MB, {len(decodes)} decodes)", flush=True)
    return disagreements


def write_strings(strings):
    GOLDEN.mkdir(parents=True, exist_ok=True)
    path = GOLDEN / "strings.json"
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("[\n" + ",\n".join(json.dumps(s, ensure_ascii=True) for s in strings) + "\n]\n")
    assert json.loads(path.read_text(encoding="ascii")) == strings
    print(f"  wrote {path.relative_to(REPO)} ({len(strings)} strings)", flush=True)


# ---------------------------------------------------------------------------------------------
# Throughput
# ---------------------------------------------------------------------------------------------

def machine():
    model = platform.processor() or "unknown"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}"


def bench(fixtures, text, bench_path):
    rng = random.Random(SEED + 2)
    base = [line for line in text.split("\n") if line.strip()]
    lines, size = [], 0
    while size < 10_000_000:
        shuffled = base[:]
        rng.shuffle(shuffled)
        for line in shuffled:
            lines.append(line)
            size += len(line.encode("utf-8"))
            if size >= 10_000_000:
                break
    bench_path = pathlib.Path(bench_path)
    bench_path.parent.mkdir(parents=True, exist_ok=True)
    with open(bench_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"  wrote {bench_path} ({len(lines)} lines, {size} bytes without the newlines)", flush=True)
    results = {}
    method = (f"tokenizers {tokenizers.__version__} Tokenizer.encode_batch(lines, add_special_tokens=False) with "
              f"RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false, best of 3 (loading excluded); lines = the "
              f"{len(lines)} lines of the --bench-text file; bytes = their UTF-8 bytes without the newlines; "
              f"MB = 1e6 bytes")
    for fx in fixtures:
        tok = Tokenizer.from_file(str(FIXTURES / fx.name / "tokenizer.json"))
        best = None
        for _ in range(3):
            t = time.perf_counter()
            tok.encode_batch(lines, add_special_tokens=False)
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        results[fx.name] = {"mb_per_s": round(size / 1e6 / best, 2), "bytes": size, "seconds": round(best, 3),
                            "machine": machine(), "load_average_1min": round(os.getloadavg()[0], 2),
                            "method": method}
        print(f"  {fx.name}: {size / 1e6 / best:.2f} MB/s ({best:.2f} s, load average {os.getloadavg()[0]:.1f})",
              flush=True)
    path = GOLDEN / "hf_throughput.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"  wrote {path.relative_to(REPO)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench-text", default="/tmp/tokenizer-bench.txt",
                    help="where to write the ~10 MB benchmark text (one document per line)")
    ap.add_argument("--rebuild-training-text", action="store_true",
                    help="rebuild scripts/reference/tokenizer_training_text.txt from the repo's files")
    ap.add_argument("--skip-bench", action="store_true", help="no throughput measurement")
    ap.add_argument("--bench-only", action="store_true",
                    help="only the throughput measurement, of the fixtures as they are (no training, no goldens)")
    args = ap.parse_args()
    assert tokenizers.__version__ == "0.21.0" and transformers.__version__ == "4.47.1", (
        tokenizers.__version__, transformers.__version__)

    if args.rebuild_training_text or not TRAINING_TEXT.exists():
        TRAINING_TEXT.write_text(build_training_text(), encoding="utf-8", newline="\n")
        print(f"wrote {TRAINING_TEXT.relative_to(REPO)}", flush=True)
    text = TRAINING_TEXT.read_text(encoding="utf-8")
    print(f"training text: {len(text.encode('utf-8'))} bytes", flush=True)

    if args.bench_only:
        print("throughput (single thread)", flush=True)
        bench([Fixture(name, None, None, {}) for name in NAMES], text, args.bench_text)
        return
    print("training and writing fixtures", flush=True)
    fixtures = make_fixtures(text)
    for fx in fixtures:
        write_fixture(fx)
    assert [fx.name for fx in fixtures] == NAMES
    print("goldens", flush=True)
    strings = build_strings()
    write_strings(strings)
    write_goldens(fixtures, strings)
    if not args.skip_bench:
        print("throughput (single thread)", flush=True)
        bench(fixtures, text, args.bench_text)


if __name__ == "__main__":
    main()
