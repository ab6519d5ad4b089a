//! The words the clock reads messages by: kinds that call for no action, thanks that are no
//! request. A leaf module. What the clock stores depends on these lists, so their version is part
//! of the facts' fingerprint ([`rules_version`]): changing a word recomputes the stored facts, from
//! the texts, on the next import or report.

pub(crate) const NOT_ACTIONABLE_KINDS: &[&str] =
    &["spam", "off_topic", "off-topic", "offtopic", "thanks", "noise", "hors_sujet"];
const THANKS: &[&str] = &["merci", "thanks", "thank", "thx", "ty", "mercii", "merciii"];
const THANKS_FILLER: &[&str] = &[
    "beaucoup", "bcp", "mille", "you", "so", "much", "very", "a", "lot", "many", "ok", "okay", "super", "parfait",
    "top", "génial", "genial", "cool", "great", "perfect", "bien", "reçu", "recu", "noté", "note", "pour", "votre",
    "réponse", "reponse", "à", "vous", "de", "la", "encore", "again", "bonne", "journée", "journee", "soirée", "have",
    "nice", "day",
];

/// A message that only says thanks ("Merci beaucoup !", "thanks a lot 🙏") needs no reply.
pub fn is_bare_thanks(text: &str) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    !words.is_empty()
        && words.iter().any(|w| THANKS.contains(w))
        && words.iter().all(|w| THANKS.contains(w) || THANKS_FILLER.contains(w))
}

/// A fingerprint of every list above: stored facts computed with other lists are recomputed.
pub fn rules_version() -> u64 {
    version_of(&[NOT_ACTIONABLE_KINDS, THANKS, THANKS_FILLER])
}

fn version_of(lists: &[&[&str]]) -> u64 {
    let mut h = Fnv::default();
    for list in lists {
        for w in list.iter() {
            h = h.write(w.as_bytes()).write(&[0x1f]);
        }
        h = h.write(&[0x1e]);
    }
    h.finish()
}

/// FNV-1a over 64 bits: the same value on every build and machine, which the facts'
/// fingerprints, the text model's hashed features and the demo's choices rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    #[inline]
    pub fn write(mut self, bytes: &[u8]) -> Fnv {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self
    }
    pub fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_added_moved_or_removed_changes_the_version() {
        let now = version_of(&[NOT_ACTIONABLE_KINDS, THANKS, THANKS_FILLER]);
        assert_eq!(now, rules_version());
        let mut more = THANKS.to_vec();
        more.push("gracias");
        assert_ne!(version_of(&[NOT_ACTIONABLE_KINDS, &more, THANKS_FILLER]), now);
        // A word moved from one list to the next is another rule.
        assert_ne!(version_of(&[NOT_ACTIONABLE_KINDS, &THANKS[1..], &[&THANKS[..1], THANKS_FILLER].concat()]), now);
        assert_ne!(version_of(&[NOT_ACTIONABLE_KINDS, THANKS]), now);
    }
}
