//! The bound on namespace names (`max_namespace_length`): the name a refusal of a longer one is addressed to.

/// `name` cut to at most `max` bytes, at a character boundary.
///
/// A CONNECT to a longer name is refused with a CONNECT_ERROR addressed to this cut name, so the answer stays
/// small whatever the client sent (the reference server would echo a name of any length). A client cannot match
/// that refusal to its request; that is the price of never echoing an unbounded name.
pub(crate) fn cut(name: &str, max: usize) -> &str {
    if name.len() <= max {
        return name;
    }
    let mut end = max;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn names_are_cut_at_a_character_boundary() {
        assert_eq!(cut("/chat", 256), "/chat");
        assert_eq!(cut("/chat", 3), "/ch");
        // `é` is two bytes: the one straddling the bound is left out.
        assert_eq!(cut("/éé", 4), "/é");
        assert_eq!(cut("/éé", 5), "/éé");
    }
}
