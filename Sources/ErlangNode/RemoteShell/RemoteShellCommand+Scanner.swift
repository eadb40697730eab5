extension RemoteShellCommand {
    /// The little lexing the shell needs around ``TermParser``: where quotes end, and the shape of a call.
    enum Scanner {
        /// Indices of `character` in `text` outside quoted atoms, strings and character literals (`$!`).
        static func topLevelIndices(of character: Character, in text: String) -> [String.Index] {
            var found: [String.Index] = []
            var quote: Character?
            var index = text.startIndex
            while index < text.endIndex {
                let c = text[index]
                if let q = quote {
                    if c == "\\" {
                        index = text.index(after: index)
                        if index == text.endIndex { break }
                    } else if c == q {
                        quote = nil
                    }
                } else if c == "'" || c == "\"" {
                    quote = c
                } else if c == "$" {
                    // A character literal: `$x`, `$\n`; what follows is never a delimiter.
                    index = text.index(after: index)
                    if index < text.endIndex, text[index] == "\\" { index = text.index(after: index) }
                    if index == text.endIndex { break }
                } else if c == character {
                    found.append(index)
                }
                index = text.index(after: index)
            }
            return found
        }

        /// `name(Args)` or `module:name(Args)` spanning all of `text`, with the argument text; `nil` otherwise.
        static func call(_ text: String) -> (module: String?, function: String, arguments: String)? {
            guard text.hasSuffix(")"), let open = text.firstIndex(of: "(") else { return nil }
            let head = String(text[..<open]).trimmingWhitespace
            let parts = head.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 1 || parts.count == 2 else { return nil }
            let names = parts.map { String($0).trimmingWhitespace }
            guard names.allSatisfy(isBareAtom) else { return nil }
            let arguments = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
            // The `(` must be closed by the final `)`, not earlier: `f(a) ! (b)` is no call.
            var depth = 0
            let parentheses = (topLevelIndices(of: "(", in: arguments) + topLevelIndices(of: ")", in: arguments)).sorted()
            for index in parentheses {
                depth += arguments[index] == "(" ? 1 : -1
                if depth < 0 { return nil }
            }
            return names.count == 2 ? (names[0], names[1], arguments) : (nil, names[0], arguments)
        }

        /// A lowercase-initial atom written without quotes.
        static func isBareAtom(_ text: String) -> Bool {
            guard let first = text.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
            return text.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "@"
            }
        }
    }
}
