//! A bounded random and differential test of the spec loader: random YAML texts, built from
//! fragments of YAML and from random characters, must never make the loader panic, and every
//! text the loader takes must read the same with serde_norway (another YAML parser, libyaml's).
//!
//! CI runs a few thousand texts from a fixed seed. A long run: `GITOPSC_FUZZ_CASES=1000000
//! GITOPSC_FUZZ_SEED=<n> cargo test --test loader_fuzz -- --nocapture` (docs/testing.md).
//!
//! Intended differences, not compared: the texts the loader refuses and serde_norway takes
//! (anchors, aliases, tags, YAML-1.1-ambiguous plain scalars, non-string keys, DEL and C1
//! controls, more than one document, a root that is not a mapping, numbers beyond 64 bits,
//! nesting deeper than the loader's limit, a plain scalar that begins with `?` in a flow
//! collection), and those serde_norway refuses.

mod common;

use gitopsc::source::Source;
use gitopsc::spec::load;

/// SplitMix64: a tiny deterministic generator, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "a", "b", "name", "apps", "values", "x y", "\"q\"", "'s'", "\"k:\"", "é", "yes", "true", "1", "~", "<<",
    "? a", "\"\"", "a#b", "-a",
];

const SCALARS: &[&str] = &[
    "1",
    "-1",
    "0",
    "00",
    "0777",
    "0x1F",
    "0o17",
    "1.5",
    "1e3",
    "1.5e+3",
    ".5",
    "1.",
    ".inf",
    ".nan",
    "true",
    "no",
    "on",
    "null",
    "~",
    "",
    "2001-01-01",
    "1:20",
    "1_000",
    "=",
    "<<",
    "x",
    "hello world",
    "a: b",
    "a #c",
    "\"q\\\"x\"",
    "\"\\x7f\"",
    "\"\\u00e9\\t\"",
    "'it''s'",
    "\"a\\\n  b\"",
    "|",
    "|-",
    ">",
    "|+",
    "[1, 2]",
    "{a: 1}",
    "[]",
    "{}",
    "[a, [b, {c: d}]]",
    "{a: [1, 2], b: {}}",
    "&a 1",
    "*a",
    "!t x",
    "!!str 1",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "0xFFFFFFFFFFFFFFFFF",
    "1.0e+400",
    "é",
    "😀",
    "\u{85}",
    "x\u{a0}",
    "'a\n  b'",
    "\"\\N\"",
    "@x",
    "`x",
    "%x",
    "- a",
    "? x",
];

const JOINS: &[&str] = &[
    "\n", "\n  ", "\n    ", "\n- ", "\n  - ", ": ", " ", "#c\n", "\n---\n", "\n...\n", "\r\n", "\t",
];

/// A text of YAML fragments: a block mapping of random keys, scalars and nested mappings and
/// sequences, then now and then a fragment dropped in at a random place.
fn from_fragments(rng: &mut Rng) -> String {
    let mut text = String::new();
    block_mapping(rng, 0, &mut text);
    for _ in 0..rng.below(3) {
        let mut at = rng.below(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let fragment = if rng.below(2) == 0 {
            rng.pick(JOINS)
        } else {
            rng.pick(SCALARS)
        };
        text.insert_str(at, fragment);
    }
    text
}

/// A block mapping at `indent`, its keys numbered so that most are unique.
fn block_mapping(rng: &mut Rng, indent: usize, text: &mut String) {
    let pad = " ".repeat(indent);
    for i in 0..1 + rng.below(4) {
        text.push_str(&pad);
        if rng.below(4) == 0 {
            text.push_str(rng.pick(KEYS));
        } else {
            text.push_str(&format!("k{i}"));
        }
        match rng.below(8) {
            0 if indent < 8 => {
                text.push_str(":\n");
                block_mapping(rng, indent + 2, text);
            }
            1 if indent < 8 => {
                text.push_str(":\n");
                for _ in 0..1 + rng.below(3) {
                    text.push_str(&format!("{pad}  - {}\n", rng.pick(SCALARS)));
                }
            }
            2 => text.push_str(&format!(": |\n{pad}  line one\n\n{pad}  line two\n")),
            _ => text.push_str(&format!(": {}\n", rng.pick(SCALARS))),
        }
    }
}

/// A text of random characters, mostly YAML's indicators, spaces and line breaks.
fn from_characters(rng: &mut Rng) -> String {
    const ALPHABET: &[char] = &[
        'a', 'b', '1', '0', ' ', ' ', ' ', '\n', '\n', ':', '-', '?', '#', '"', '\'', '[', ']', '{', '}',
        ',', '|', '>', '&', '*', '!', '%', '@', '`', '\\', '.', '~', '\t', '\r', 'é', '\u{85}', '\u{feff}',
        '\u{2028}', '\u{0}', '\u{7f}', '😀',
    ];
    let len = rng.below(80);
    let mut text = String::from("k: ");
    for _ in 0..len {
        text.push(ALPHABET[rng.below(ALPHABET.len())]);
    }
    text
}

/// The count and seed of the run: `GITOPSC_FUZZ_CASES` and `GITOPSC_FUZZ_SEED`, or CI's.
fn run_parameters() -> (u64, u64) {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} must be a number, got `{v}`"))
            })
            .unwrap_or(default)
    };
    (var("GITOPSC_FUZZ_CASES", 6000), var("GITOPSC_FUZZ_SEED", 0x5eed))
}

#[test]
fn random_texts_never_panic_and_what_the_loader_takes_reads_the_same_with_serde() {
    let (cases, seed) = run_parameters();
    let mut rng = Rng(seed);
    let (mut taken, mut compared) = (0, 0);
    for case in 0..cases {
        let text = if case % 2 == 0 {
            from_fragments(&mut rng)
        } else {
            from_characters(&mut rng)
        };
        let loaded = std::panic::catch_unwind(|| load::parse(Source::new("fuzz.yaml", text.as_str())));
        let Ok(loaded) = loaded else {
            panic!("case {case} of seed {seed}: the loader panicked on {text:?}");
        };
        let Ok(loaded) = loaded else { continue };
        taken += 1;
        let Ok(docs) = common::serde_load_all(&text) else {
            continue;
        };
        let [doc] = docs.as_slice() else { continue };
        compared += 1;
        assert_eq!(
            &loaded.spans.root().to_value(),
            doc,
            "case {case} of seed {seed}: the loader and serde_norway read {text:?} differently"
        );
    }
    eprintln!(
        "loader_fuzz: {cases} texts from seed {seed}: {taken} taken by the loader, {compared} compared with serde_norway"
    );
    assert!(
        compared > cases / 20,
        "too few texts compared ({compared}): the generators went wrong"
    );
}
