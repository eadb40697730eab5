// libFuzzer target: the Erlang term-text parser. Whatever parses must print (`~p`) to text that parses to an
// equal term, and printing that again gives the same text.
import CFuzzerDriver
import ErlangTerm

// Smaller than the defaults so that runs explore the grammar rather than allocations: with the default 2^27, a
// 92-byte input (`<<0:74406770>>`) builds a 9 MB binary whose `~p` text is 27 MB (within the documented limit).
let options = TermParser.Options(maximumDepth: 2_000, maximumCount: 1 << 16)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let term = try? TermParser.parse(text, options: options) else { return 0 }
    let printed = term.erlangText()
    let again: Term
    do {
        again = try TermParser.parse(printed, options: options)
    } catch {
        preconditionFailure("printed text does not parse: \(error)\n\(printed)")
    }
    precondition(again == term, "print and re-parse changed the term:\n\(text)\n\(printed)")
    precondition(again.erlangText() == printed, "printing is not stable")
    return 0
}

/// The program's entry point (SwiftPM aliases `main` to it): libFuzzer's driver with ``fuzz(_:_:)``.
@_cdecl("fuzz_term_text_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data!, size) }
}
