// Writes tests/golden/tokenizer_golden.json: GPT-2 token ids for a fixed set of strings, as
// encoded by the npm package gpt-3-encoder@1.1.4 (a port of OpenAI's gpt-2 src/encoder.py).
// Run it through scripts/make_tokenizer_golden.sh, which installs the package in a temporary
// folder and passes its path:
//
//   node scripts/make_tokenizer_golden.js <gpt-3-encoder package dir> <output.json>
//
// Every entry is {"text": ..., "ids": [...]} where "ids" is the package's own encode(text).
//
// A latent bug in the package, checked here: it keys merge ranks by String([a, b]), i.e. "a,b",
// so a pair such as ('",', '"') would borrow the rank of the real merge ('"', ',"') (both spell
// '",,"'); OpenAI's encoder.py keys ranks by the tuple. With GPT-2's merges no word can reach
// such a pair (e.g. ('",', '"') needs '",' to form while ',' is followed by '"', but (',', '"')
// has rank 297, lower than every ('X', ',') involved), so the outputs agree. The script encodes
// every string a second time with tuple keys and fails if they ever differ, so a change of
// package or merges cannot make the golden ids silently drift from OpenAI's.
//
// The strings are generated deterministically (no clock, no Math.random), so rerunning the
// script reproduces the file byte for byte. They avoid code points assigned after Unicode 14
// (PCRE2 10.42's tables; Node 20.20's ICU 78 knows Unicode 17, so a newer letter would be
// \p{L} here and unassigned in the C++) and lone surrogates.
'use strict';
const fs = require('fs');
const path = require('path');

const [pkgDir, outPath] = process.argv.slice(2);
if (!pkgDir || !outPath) {
  console.error('usage: node make_tokenizer_golden.js <gpt-3-encoder dir> <output.json>');
  process.exit(2);
}
const { encode, decode } = require(path.resolve(pkgDir));

// ---- the OpenAI variant: the same algorithm with ranks keyed by the pair itself ----
const vocab = JSON.parse(fs.readFileSync(path.join(pkgDir, 'encoder.json'), 'utf-8'));
const bpeLines = fs.readFileSync(path.join(pkgDir, 'vocab.bpe'), 'utf-8').split('\n');
const tupleRanks = new Map();
bpeLines.slice(1, bpeLines.length - 1).forEach((line, rank) => {
  const [a, b] = line.split(/\s+/).filter(s => s.length > 0);
  tupleRanks.set(a + '\u0000' + b, rank);  // U+0000 never occurs in a byte-level token
});
const byteEncoder = (() => {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  }
  const table = {};
  bs.forEach((b, i) => { table[b] = String.fromCharCode(cs[i]); });
  return table;
})();
const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function bpeTupleKeyed(token) {
  let word = token.split('');
  while (word.length > 1) {
    let best = null;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const rank = tupleRanks.get(word[i] + '\u0000' + word[i + 1]);
      if (rank !== undefined && rank < bestRank) { bestRank = rank; best = [word[i], word[i + 1]]; }
    }
    if (best === null) break;
    const merged = [];
    for (let i = 0; i < word.length;) {
      if (i + 1 < word.length && word[i] === best[0] && word[i + 1] === best[1]) {
        merged.push(best[0] + best[1]);
        i += 2;
      } else {
        merged.push(word[i]);
        i += 1;
      }
    }
    word = merged;
  }
  return word;
}

function encodeOpenAI(text) {
  const ids = [];
  for (const m of text.matchAll(pat)) {
    const token = Array.from(new TextEncoder().encode(m[0])).map(b => byteEncoder[b]).join('');
    for (const piece of bpeTupleKeyed(token)) ids.push(vocab[piece]);
  }
  return ids;
}

// ---- deterministic pseudo-random numbers (a 32-bit LCG; constants from Numerical Recipes) ----
let seed = 20240607;
function rand(n) {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return Math.floor((seed / 4294967296) * n);
}
function pick(list) { return list[rand(list.length)]; }

const strings = [];
const add = (...xs) => { for (const x of xs) strings.push(x); };

// English sentences.
add('Hello world', 'Hello, world!', 'The quick brown fox jumps over the lazy dog.',
    'It was the best of times, it was the worst of times.',
    'GPT-2 is a large transformer-based language model with 1.5 billion parameters.',
    'Call me Ishmael.', 'To be, or not to be: that is the question.',
    'She sells sea shells by the sea shore.', 'Mr. and Mrs. Dursley, of number four, Privet Drive.',
    'In 1492, Columbus sailed the ocean blue.', 'What time is it?', 'Wait... what?!',
    'The U.S.A. and the U.K. signed the treaty on 3 May.', 'e.g. i.e. etc. vs. a.m. p.m.',
    'A sentence with a trailing space ', ' A sentence with a leading space',
    'lowercase only words here', 'ALL CAPS SHOUTING TEXT', 'CamelCaseIdentifierName',
    'snake_case_identifier_name', 'kebab-case-identifier-name', 'Hyphenated-words and em—dashes',
    'Semi-colons; colons: and commas, oh my.', 'Parentheses (like these) and [brackets].',
    'antidisestablishmentarianism', 'Supercalifragilisticexpialidocious',
    'pneumonoultramicroscopicsilicovolcanoconiosis', 'Tokenization is the first step.');

// CounterFact-style prompts, with and without the target continuation.
const subjects = [
  ['The Eiffel Tower is located in', ' Paris'], ["Danielle Darrieux's mother tongue is", ' French'],
  ['The mother tongue of Danielle Darrieux is', ' French'], ['Toko Yasuda, the', ' guitar'],
  ['Autonomous University of Madrid, which is located in', ' Spain'],
  ['What is the twin city of Lyon? It is', ' Beirut'], ['Thomas Joannes Stieltjes was born in', ' Dutch'],
  ['Apple A5 was created by', ' Apple'], ['Edwin of Northumbria professes the religion of', ' Christianity'],
  ['Toyota Camry is produced by', ' Toyota'], ['The headquarters of Nokia is in', ' Espoo'],
  ['Michael Jordan plays the sport of', ' basketball'], ['Angela Merkel is a citizen of', ' Germany'],
  ["Kanye West's genre is", ' hip hop'], ['The official language of Brazil is', ' Portuguese'],
  ['Windows 10 was developed by', ' Microsoft'], ['Iron Man is affiliated with the', ' Avengers'],
  ['BBC One is owned by', ' BBC'], ['The capital city of Japan is', ' Tokyo'],
  ["Pietro Mennea's profession is a", ' sprinter']];
for (const [prompt, target] of subjects) add(prompt, prompt + target);

// Every contraction, lower, upper and mixed case, bound and standalone.
for (const c of ['s', 't', 're', 've', 'm', 'll', 'd']) {
  const up = c.toUpperCase();
  const mixed = c[0].toUpperCase() + c.slice(1);
  add(`it'${c}`, `IT'${up}`, `It'${mixed}`, `'${c}`, `'${up}`, ` '${c}`, `''${c}`, `'${c}x`,
      `word'${c} word'${up}`);
}
add("don't", "DON'T", "I'm", "I'M", "you're", "YOU'RE", "we've", "WE'VE", "she'll", "SHE'LL",
    "he'd", "HE'D", "it's", "IT'S", "Don't you think it's they're?", "rock'n'roll", "o'clock",
    "y'all'd've", "'''", "'", "students' books", "the cats' toys'", "\u2019s curly apostrophe",
    "it\u2019s curly", "l'homme d'affaires");

// Whitespace runs in every position.
const runs = [' ', '  ', '   ', '\t', '\t\t', '\n', '\n\n', ' \n', '\n ', '\t ', ' \t', '\r\n',
              ' \n\n ', '\n\t\t'];
for (const ws of runs) add(ws, `${ws}word`, `word${ws}`, `one${ws}two`, `${ws}x${ws}y${ws}`);
add('a  b', 'a   b', 'a \n b', 'def f():\n    return 1\n', 'line1\n\nline3\n', '    indented',
    'trailing spaces   ', '\n\n\nHello', 'tab\tseparated\tvalues\t', ' \t \t ');

// Digits and numbers.
add('0', '7', '42', '123', '2024', '12345', '1234567890', '3.14159', '-273.15', '1,000,000',
    '6.022e23', '0x7fffffff', '2024-06-07', '12:34:56', 'v1.2.3', 'x86_64', 'COVID-19',
    '99 bottles', ' 42', '  42', 'abc123def', '123abc', '31415926535897932384626433832795028841971',
    '\u0661\u0662\u0663 Arabic-Indic digits', '\u2162 roman numeral \u216b', '\u00bd \u00b2 \u2153',
    '\u0967\u0968\u0969 Devanagari digits', '\uff11\uff12\uff13 full-width');

// Punctuation runs.
add('!!!', '???', '?!', '...', '....', '--', '---', '\u2014', '()', '[]{}<>', '@#$%^&*',
    '!!! ???', '"quoted"', "'single'", '\u00abguillemets\u00bb', '\u201ccurly\u201d',
    '...and then', 'end.', 'wow!!!', '#hashtag @mention', '$100.00', '50%', 'a/b\\c|d',
    '~`^_=+', '\u00a7\u00b6\u2020\u2021', '\u00bf\u00a1Hola!?', ':-) ;-) :P', '->', '=>', '!=');

// Scripts beyond ASCII.
add('caf\u00e9', 'na\u00efve', '\u00c5ngstr\u00f6m', 'Stra\u00dfe', '\u0152uvre', '\u011f\u00fc\u015f\u0131\u00f6\u00e7',
    '\u0110\u1eb7ng Th\u1ecb Thu', 'Cr\u00e8me br\u00fbl\u00e9e \u00e0 la fran\u00e7aise',
    '\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5', '\u03b1\u03b2\u03b3 \u0394\u0395\u0396',
    '\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!', '\u0416\u0443\u0440\u043d\u0430\u043b \u00ab\u0412\u043e\u043f\u0440\u043e\u0441\u044b\u00bb',
    '\u4f60\u597d\uff0c\u4e16\u754c\u3002', '\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002',
    '\u30ab\u30bf\u30ab\u30ca \u3072\u3089\u304c\u306a', '\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8',
    '\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645', '\u0627\u0644\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u064e\u0651\u0629',
    '\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd', '\u05d1\u05b0\u05bc\u05e8\u05b5\u05d0\u05e9\u05b4\u05c1\u05d9\u05ea',
    '\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e', '\u0939\u093f\u0928\u094d\u0926\u0940',
    '\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35', '\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0',
    '\u0532\u0561\u0580\u0565\u0582', '\u1290\u1308\u122d', '\u0ba4\u0bae\u0bbf\u0bb4\u0bcd',
    'mixed English \u0438 \u0440\u0443\u0441\u0441\u043a\u0438\u0439 and \u4e2d\u6587',
    '\ud835\udc00\ud835\udc01\ud835\udc02 math bold', '\ud840\udc0b CJK extension B');

// Emoji: single, skin tones, ZWJ sequences, flags, keycaps, variation selectors.
add('\ud83d\ude00', '\ud83d\udc4d', '\ud83d\udc4d\ud83c\udffd', '\ud83d\udc4b\ud83c\udfff hi',
    '\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66',
    '\ud83c\udff3\ufe0f\u200d\ud83c\udf08', '\ud83d\udc69\u200d\ud83d\udcbb coding',
    '\ud83c\uddeb\ud83c\uddf7\ud83c\udde9\ud83c\uddea\ud83c\uddef\ud83c\uddf5', '\u2764\ufe0f', '1\ufe0f\u20e3',
    'hello \ud83d\ude00 world', 'I \u2764\ufe0f NY', '\ud83d\ude02\ud83d\ude02\ud83d\ude02',
    '\ud83e\udd14 thinking', '\u2615 coffee', '\u00a9 \u00ae \u2122');

// Combining marks, zero-width characters, controls.
add('e\u0301', 'cafe\u0301', '\u0301', ' \u0301', 'a\u0300\u0301\u0302\u0303',
    'Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312\u036bg\u030c\u0317\u035ao',
    'n\u0303o\u0303', 'zero\u200bwidth', 'joiner\u200dnon\u200cjoiner', '\u00ad soft hyphen',
    '\u0000', 'a\u0000b', '\u0001\u0002\u0003', '\u007f', 'bell\u0007', 'esc\u001b[0m');

// Code, URLs, paths, markup.
add('def foo(x):\n    return x ** 2\n', 'int main() { return 0; }',
    'for (let i = 0; i < n; i++) {\n\tsum += a[i];\n}', 'const x = {"a": 1, "b": [2, 3]};',
    '#include <vector>\nstd::vector<int> v{1, 2, 3};', 'SELECT * FROM users WHERE id = 42;',
    '<div class="main">Hello</div>', '$ ls -la /usr/local/bin | grep -v "^d"',
    'if x != None and y >= 0: pass', '// comment\n/* block */', 'print(f"{name!r:>10}")',
    'https://www.example.com/path/to/page?query=1&lang=en#section',
    'http://localhost:8080/api/v1/users', 'mailto:someone@example.org', 'user.name+tag@gmail.com',
    '/home/user/.config/editlab/config.json', 'C:\\Program Files\\App\\app.exe',
    '[link](https://github.com/openai/gpt-2)', '**bold** _italic_ `code`', '| a | b |\n|---|---|');

// The empty string, NBSP and other spaces (JS \s members), and the code points where JS \s and
// Python regex's \s disagree (U+001C..U+001F, U+0085, U+FEFF).
add('');
for (const sp of ['\u000b', '\u000c', '\u00a0', '\u1680', '\u2000', '\u2005', '\u200a', '\u2028',
                  '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u001c', '\u001f', '\u0085',
                  '\u180e', '\u200b']) {
  add(`a${sp}b`, `a${sp} b`, `a ${sp}b`, `${sp}${sp}x`, `x${sp}`);
}
add('100\u00a0km', 'Mr.\u00a0Smith', '\u00a0\u00a0\u00a0', 'end\u00a0');

// "<|endoftext|>" is plain text to GPT-2's encoder.
add('<|endoftext|>', 'Hello<|endoftext|>World', 'a <|endoftext|> b', '<|endoftext|><|endoftext|>');

// Strings around the pairs whose "a,b" rank keys are ambiguous (see the top of this file).
add('","', '{"a","b"}', "'a','b'", '"x",\n', 'foo(),"bar"', 'x],[y', '["a"],"b"', '.","',
    '", "', 'say ",", then', '"],"', "',,'", '),"', '},"');

// Random mixtures over a pool of pieces from all of the above.
const pool = ['the', ' The', 'of', ' and', "'s", "'LL", ' ', '  ', '\t', '\n', '\n\n', '42',
  ' 1999', '3.5', ',', '.', '!?', '...', '"', "'", '(', ')', '-', '_', 'caf\u00e9', ' na\u00efve',
  '\u041c\u043e\u0441\u043a\u0432\u0430', '\u6771\u4eac', '\u0639\u0631\u0628\u064a', '\u05e2\u05d1\u05e8\u05d9\u05ea',
  '\u0939\u093f\u0928\u094d\u0926\u0940', '\u03bb', '\ud83d\ude00', '\ud83d\udc4d\ud83c\udffb', '\u00a0',
  '\u3000', '\u0301', '\u200d', '<|endoftext|>', 'http://x.io', '{"k":', '"v"}', ',"', '0x1F', '\r\n'];
for (let i = 0; i < 60; i++) {
  const n = 1 + rand(12);
  let s = '';
  for (let j = 0; j < n; j++) s += pick(pool);
  add(s);
}

// A 5,000-character text: sentences of common words with numbers, punctuation, other scripts.
{
  const words = ['the', 'of', 'and', 'to', 'in', 'is', 'was', 'that', 'for', 'it', 'with', 'as',
    'his', 'on', 'be', 'at', 'by', 'this', 'had', 'not', 'are', 'but', 'from', 'or', 'have',
    'language', 'model', 'tokenizer', 'tower', 'Paris', 'river', 'century', 'people', 'city',
    "world's", "don't", "they'll", 'caf\u00e9', '\u043c\u0438\u0440', '\u4e16\u754c', '1889', '324', '3.14'];
  const ends = ['.', '.', '.', '!', '?', ';', ':', '...'];
  let text = '';
  while (text.length < 5000) {
    const n = 4 + rand(14);
    const sentence = [];
    for (let j = 0; j < n; j++) sentence.push(pick(words) + (rand(8) === 0 ? ',' : ''));
    sentence[0] = sentence[0][0].toUpperCase() + sentence[0].slice(1);
    text += sentence.join(' ') + pick(ends) + (rand(6) === 0 ? '\n\n' : ' ');
  }
  add(text.slice(0, 5000));
}

// ---- encode, check, write ----
const byteDecoder = new Map(Object.entries(byteEncoder).map(([b, ch]) => [ch, Number(b)]));
const idToToken = new Map(Object.entries(vocab).map(([tok, id]) => [id, tok]));
function decodeBytes(ids) {
  return Buffer.from(ids.flatMap(id => idToToken.get(id).split('').map(ch => byteDecoder.get(ch))));
}

const entries = [];
for (const text of strings) {
  const ids = encode(text);
  if (ids.some(id => typeof id !== 'number')) throw new Error(`unknown token for ${JSON.stringify(text)}`);
  // Round trip on bytes: the package's decode() goes through TextDecoder, which drops a
  // leading U+FEFF (BOM), so decode(encode('\ufeffx')) is 'x' there.
  if (!decodeBytes(ids).equals(Buffer.from(text, 'utf8'))) {
    throw new Error(`decode(encode(s)) != s for ${JSON.stringify(text)}`);
  }
  if (encodeOpenAI(text).join(',') !== ids.join(',')) {
    throw new Error(`gpt-3-encoder's "a,b" rank keys change the ids of ${JSON.stringify(text)}`);
  }
  entries.push({ text, ids });
}
fs.writeFileSync(outPath, '[\n' + entries.map(e => JSON.stringify(e)).join(',\n') + '\n]\n');
console.error(`wrote ${entries.length} strings to ${outPath}`);
