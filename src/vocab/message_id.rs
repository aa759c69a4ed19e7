//! A user message's id, `{user}-m{k}` on the wire: message `k` (from 1) of
//! `user`. The client builds it, the oracle reads it back from the answers
//! a user received, and `record` names recorded messages the same way; the
//! format lives only here.

use std::fmt;

/// Message `k` (from 1) of `user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageId<'a> {
    pub user: &'a str,
    pub k: u32,
}

impl<'a> MessageId<'a> {
    pub fn new(user: &'a str, k: u32) -> Self {
        MessageId { user, k }
    }

    /// The id `text` names, if it is one of this form.
    pub fn parse(text: &'a str) -> Option<Self> {
        let (user, k) = text.rsplit_once("-m")?;
        let k = k.parse().ok().filter(|k| *k >= 1)?;
        Some(MessageId { user, k })
    }
}

impl fmt::Display for MessageId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-m{}", self.user, self.k)
    }
}

#[cfg(test)]
mod tests {
    use super::MessageId;

    #[test]
    fn an_id_reads_back_as_it_was_written() {
        let id = MessageId::new("user-0007", 12);
        assert_eq!(id.to_string(), "user-0007-m12");
        assert_eq!(MessageId::parse("user-0007-m12"), Some(id));
        // A user name that itself holds `-m` still reads back.
        let odd = MessageId::new("team-m2", 3);
        assert_eq!(MessageId::parse(&odd.to_string()), Some(odd));
        for not_an_id in [
            "user-0007",
            "user-0007-m",
            "user-0007-m0",
            "user-0007-mx",
            "u-big",
        ] {
            assert_eq!(MessageId::parse(not_an_id), None, "{not_an_id}");
        }
    }
}
