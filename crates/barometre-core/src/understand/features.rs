//! A message's text as the model reads it: normalised (lower case, accents folded, URLs,
//! mentions, numbers and emoji as marks), then hashed features — words, word pairs, the word
//! that opens the message, negated words, the lexicon's classes (which a word the labelled set
//! never showed still speaks through), punctuation and length. Character n-grams and pairs of
//! classes were measured too (cross-validation on the train part) and left out: they lowered
//! macro-F1 at this data size (README, "Message understanding").

use super::lexicon::{self, Class};
use crate::words::Fnv;

/// Hashed feature space: 2^17 buckets.
pub const BITS: u32 = 17;
const MASK: u64 = (1 << BITS) - 1;

fn fnv(kind: u8, parts: &[&str]) -> u32 {
    let mut h = Fnv::default().write(&[kind]);
    for p in parts {
        h = h.write(p.as_bytes()).write(&[0x1f]);
    }
    let h = h.finish();
    // Fold the high bits in: FNV's low bits alone mix poorly.
    ((h ^ (h >> 29)) & MASK) as u32
}

/// A text folded the way customers type it: lower case, without accents.
pub fn folded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold(c, &mut out);
    }
    out
}

/// A character folded the way customers type it: lower case, without accents.
fn fold(c: char, out: &mut String) {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' | 'Ã' => out.push('a'),
        'ç' | 'Ç' => out.push('c'),
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => out.push('e'),
        'î' | 'ï' | 'í' | 'ì' | 'Î' | 'Ï' => out.push('i'),
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' | 'Ô' | 'Ö' => out.push('o'),
        'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' => out.push('u'),
        'ÿ' => out.push('y'),
        'œ' | 'Œ' => out.push_str("oe"),
        'æ' | 'Æ' => out.push_str("ae"),
        '’' | '‘' | '`' => out.push('\''),
        c => out.extend(c.to_lowercase()),
    }
}

/// A token of the normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Word(String),
    /// A mark standing for something whose exact value says nothing: a URL, a mention, a number.
    Mark(&'static str),
}

/// The text's tokens, and counts read on the raw text (question and exclamation marks, words in
/// capitals).
pub(crate) struct Read {
    pub toks: Vec<Tok>,
    pub questions: usize,
    pub exclamations: usize,
    pub shouted: usize,
}

fn emoji_mark(c: char) -> Option<&'static str> {
    Some(match c {
        '😡' | '😠' | '🤬' | '😤' | '😒' | '🙄' | '😞' | '😢' | '😭' | '👎' | '💩' | '🤮' | '😩' | '😫' | '😑'
        | '😐' | '🤦' | '😔' | '😖' | '😣' | '🥵' | '😱' | '🤡' => "xemoneg",
        '😊' | '🙂' | '😀' | '😁' | '😍' | '🥰' | '👍' | '👌' | '🙏' | '❤' | '💪' | '🎉' | '👏' | '✨' | '😃'
        | '😄' | '💙' | '💚' | '💜' | '🧡' | '💛' | '🤩' | '😘' | '🥳' | '✅' | '🤗' | '😉' | '💯' | '🔥' => {
            "xemopos"
        }
        '💰' | '💸' | '🤑' | '💵' | '💶' | '🎁' | '🎰' => "xemomoney",
        '😂' | '🤣' | '😅' | '😆' => "xemolaugh",
        '👉' | '👇' | '⬇' | '➡' | '🔗' => "xemopoint",
        c if (c as u32) >= 0x1F000 || (0x2600..0x27C0).contains(&(c as u32)) => "xemo",
        _ => return None,
    })
}

/// Reads a text into tokens.
pub(crate) fn read(text: &str) -> Read {
    let mut toks = Vec::new();
    let (mut questions, mut exclamations, mut shouted) = (0, 0, 0);
    for raw in text.split_whitespace() {
        let lower = raw.to_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.") || {
            let host = lower.split('/').next().unwrap_or("");
            lower.contains('/') && host.contains('.') && host.len() > 3 && !host.ends_with('.')
        } {
            toks.push(Tok::Mark("xurl"));
            continue;
        }
        if let Some(rest) = raw.strip_prefix('@') {
            if !rest.is_empty() {
                toks.push(Tok::Mark("xmention"));
                continue;
            }
        }
        let letters: Vec<char> = raw.chars().filter(|c| c.is_alphabetic()).collect();
        if letters.len() >= 3 && letters.iter().all(|c| c.is_uppercase()) {
            shouted += 1;
        }
        let mut word = String::new();
        let flush = |word: &mut String, toks: &mut Vec<Tok>| {
            if word.is_empty() {
                return;
            }
            if word.chars().all(|c| c.is_ascii_digit()) {
                toks.push(Tok::Mark(if word.len() >= 5 { "xlongnum" } else { "xnum" }));
            } else {
                // Letters typed three times or more count twice ("nuuuul" is "nuul").
                let mut w = String::with_capacity(word.len());
                let mut run = (None, 0);
                for c in word.chars() {
                    run = if run.0 == Some(c) { (Some(c), run.1 + 1) } else { (Some(c), 1) };
                    if run.1 <= 2 {
                        w.push(c);
                    }
                }
                toks.push(Tok::Word(w));
            }
            word.clear();
        };
        for c in raw.chars() {
            if c.is_alphanumeric() {
                fold(c, &mut word);
                continue;
            }
            flush(&mut word, &mut toks);
            match c {
                '?' => questions += 1,
                '!' => exclamations += 1,
                '#' => toks.push(Tok::Mark("xhashtag")),
                '€' | '$' | '£' => toks.push(Tok::Mark("xmoney")),
                c => {
                    if let Some(m) = emoji_mark(c) {
                        toks.push(Tok::Mark(m));
                    }
                }
            }
        }
        flush(&mut word, &mut toks);
    }
    Read { toks, questions, exclamations, shouted }
}

fn bucket(n: usize, edges: &[usize]) -> usize {
    edges.iter().position(|&e| n <= e).unwrap_or(edges.len())
}

/// The hashed features of a text (a bucket may repeat: its weight counts twice).
pub fn features(text: &str, out: &mut Vec<u32>) {
    out.clear();
    let r = read(text);
    let words: Vec<&str> = r
        .toks
        .iter()
        .map(|t| match t {
            Tok::Word(w) => w.as_str(),
            Tok::Mark(m) => m,
        })
        .collect();
    out.push(fnv(0, &["bias"]));
    let mut negated = 0usize;
    let mut prev = "^";
    for (i, w) in words.iter().enumerate() {
        out.push(fnv(1, &[w]));
        out.push(fnv(2, &[prev, w]));
        if i == 0 {
            out.push(fnv(3, &[w]));
        }
        if negated > 0 {
            out.push(fnv(4, &[w]));
            negated -= 1;
        }
        let mask = lexicon::classes(w);
        if mask & lexicon::NEGATION != 0 {
            negated = 3;
        }
        for (k, (class, _)) in lexicon::LISTS.iter().enumerate() {
            if mask & (1 << k) != 0 {
                out.push(fnv(5, &[class.name()]));
                if negated > 0 && matches!(class, Class::Positive | Class::Negative) {
                    out.push(fnv(6, &[class.name()]));
                }
            }
        }
        prev = w;
    }
    out.push(fnv(2, &[prev, "$"]));
    let shape = [
        ("q", bucket(r.questions, &[0, 1])),
        ("x", bucket(r.exclamations, &[0, 1, 3])),
        ("caps", bucket(r.shouted, &[0, 1])),
        ("len", bucket(words.len(), &[1, 2, 4, 8, 16, 32])),
    ];
    for (k, b) in shape {
        out.push(fnv(12, &[k, &b.to_string()]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &str) -> Vec<String> {
        read(t)
            .toks
            .into_iter()
            .map(|t| match t {
                Tok::Word(w) => w,
                Tok::Mark(m) => m.to_string(),
            })
            .collect()
    }

    #[test]
    fn texts_are_read_as_customers_type_them() {
        assert_eq!(words("@SNCF Trèèès déçu… https://t.co/xyz 😡"), ["xmention", "trees", "decu", "xurl", "xemoneg"]);
        assert_eq!(words("commande 2045887331 du 12/03"), ["commande", "xlongnum", "du", "xnum", "xnum"]);
        assert_eq!(words("j’ai   RIEN reçu!!"), ["j", "ai", "rien", "recu"]);
        let r = read("VOUS êtes où ?? NUL !");
        assert_eq!((r.questions, r.exclamations, r.shouted), (2, 1, 2));
        assert_eq!(words("bit.ly/abc #promo"), ["xurl", "xhashtag", "promo"]);
    }

    #[test]
    fn features_stay_within_the_space() {
        let mut v = Vec::new();
        features("Bonjour, ma box ne marche plus 😭 https://x.co/a", &mut v);
        assert!(v.len() > 20);
        assert!(v.iter().all(|&f| u64::from(f) <= MASK));
        let mut w = Vec::new();
        features("Bonjour, ma box ne marche plus 😭 https://x.co/a", &mut w);
        assert_eq!(v, w);
    }
}
