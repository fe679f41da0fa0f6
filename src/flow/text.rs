//! Matching a youth's words against routes and triggers: text is folded to lowercase
//! words without accents, so "J'ai PEUR", "jai peur" and "j’ai peur" meet the same
//! pattern. Everything here works in memory; nothing is kept.

use super::model::{Pattern, PatternWord};

/// Folds one character to its plain lowercase form; `None` for a separator.
fn fold_char(c: char, out: &mut String) -> bool {
    let folded: &str = match c {
        'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' | 'À' | 'Â' | 'Ä' | 'Á' | 'Ã' | 'Å' => "a",
        'ç' | 'Ç' => "c",
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => "e",
        'î' | 'ï' | 'í' | 'ì' | 'Î' | 'Ï' | 'Í' | 'Ì' => "i",
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' | 'Ô' | 'Ö' | 'Ó' | 'Ò' | 'Õ' => "o",
        'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' | 'Ú' => "u",
        'ÿ' | 'Ÿ' | 'ý' | 'Ý' => "y",
        'ñ' | 'Ñ' => "n",
        'œ' | 'Œ' => "oe",
        'æ' | 'Æ' => "ae",
        _ if c.is_alphanumeric() => {
            // Only letters and digits (some lowercase forms add a combining mark),
            // each folded again ("Å", the angstrom sign, lowercases to "å").
            for lower in c.to_lowercase().filter(|l| l.is_alphanumeric()) {
                if lower == c {
                    out.push(lower);
                } else {
                    fold_char(lower, out);
                }
            }
            return true;
        }
        _ => return false,
    };
    out.push_str(folded);
    true
}

/// Splits text into folded words: lowercase, accents removed, every other character
/// a separator ("J'ai peur!" → ["j", "ai", "peur"]).
pub fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if !fold_char(c, &mut current) && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The folded form of a whole text, words joined by one space.
pub(crate) fn fold(text: &str) -> String {
    words(text).join(" ")
}

/// Builds a pattern from what an author wrote: words, and a final `*` on a word for
/// "any word that starts with this". `None` when nothing is left to match.
pub(crate) fn pattern(written: &str) -> Option<Pattern> {
    let mut result = Vec::new();
    for raw in written.split_whitespace() {
        let prefix = raw.ends_with('*');
        let folded = words(raw.trim_end_matches('*'));
        let count = folded.len();
        for (index, word) in folded.into_iter().enumerate() {
            result.push(PatternWord {
                word,
                prefix: prefix && index + 1 == count,
            });
        }
    }
    if result.is_empty() {
        return None;
    }
    Some(Pattern {
        words: result,
        written: written.to_string(),
    })
}

impl Pattern {
    /// Whether the pattern's words appear together, in order, in these words.
    pub(crate) fn matches(&self, words: &[String]) -> bool {
        let needed = self.words.len();
        if needed == 0 || needed > words.len() {
            return false;
        }
        words.windows(needed).any(|window| {
            window.iter().zip(&self.words).all(|(word, pattern)| {
                if pattern.prefix {
                    word.starts_with(&pattern.word)
                } else {
                    *word == pattern.word
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_and_apostrophes() {
        assert_eq!(
            words("J’ai PEUR, il m'ÉCRIT!"),
            ["j", "ai", "peur", "il", "m", "ecrit"]
        );
        assert_eq!(fold("  Cœur   brisé "), "coeur brise");
    }

    #[test]
    fn phrase_and_prefix_patterns() {
        let threat = pattern("il me menac*").unwrap();
        assert!(threat.matches(&words("Au secours il me menaçait hier")));
        assert!(!threat.matches(&words("il menace me")));
        let single = pattern("\u{e0}ide").unwrap();
        assert!(single.matches(&words("AIDE")));
        assert!(!single.matches(&words("aider")));
        assert!(pattern("  * ").is_none());
    }
}
