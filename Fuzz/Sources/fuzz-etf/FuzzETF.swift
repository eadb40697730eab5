// libFuzzer target: the External Term Format decoder, with a round trip. Input: the first byte selects the mode,
// the rest is the term.
//   even: a versioned term (`ExternalTermFormat.decode`), as `binary_to_term` sees it;
//   odd:  an unversioned term after a distribution header (`decodeUnversioned` with an atom cache).
// Whatever decodes must encode, decode again to an equal term, and re-encode to the same bytes. A term that holds
// local funs must also pass the distribution layer's check of verbatim fun bytes, or be refused by it, without
// crashing.
import CFuzzerDriver
import ErlangTerm
import NIOCore

@testable import ErlangDistribution

let limits = ExternalTermFormat.DecodingLimits(maximumDecompressedSize: 1 << 24)
let cache: [Atom] = ["a", "mymod", "otp@localhost", "", "\u{E9}t\u{E9}"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = data[0]
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var term: Term
    if mode & 1 == 0 {
        guard let decoded = try? ExternalTermFormat.decode(body, limits: limits) else { return 0 }
        term = decoded
    } else {
        var buffer = ByteBuffer(bytes: body)
        guard let decoded = try? ExternalTermFormat.decodeUnversioned(from: &buffer, limits: limits, atomCache: cache)
        else { return 0 }
        term = decoded
        let end = body.count - buffer.readableBytes
        // The distribution layer's walk must agree with the decoder on where the term ends.
        guard let scan = try? VerbatimFunCheck.walk(body, from: 0, atoms: cache, limits: limits) else {
            precondition(!VerbatimFunCheck.localFuns(in: term).isEmpty, "the walk refused a term without funs that the decoder took")
            return 0
        }
        precondition(scan.end == end, "walk and decoder disagree on the term's end")
        if scan.cacheReferencesInFuns > 0 {
            // ErlangTerm keeps such a fun's bytes with the references in them (they cannot re-decode without this
            // cache); the distribution layer delivers the rewritten term instead, which must round-trip.
            var output = [ExternalTermFormat.versionMagic]
            _ = try! withUnsafeMutablePointer(to: &output) { pointer in
                try VerbatimFunCheck.walk(UnsafeRawBufferPointer(rebasing: body[..<end]), from: 0, atoms: cache, limits: limits, output: pointer)
            }
            do {
                term = try ExternalTermFormat.decode(output, limits: limits)
            } catch {
                preconditionFailure("a rewritten term does not decode: \(error)\n\(output)")
            }
            for fun in VerbatimFunCheck.localFuns(in: term) {
                precondition(fun.encoded.withUnsafeBytes { (try? VerbatimFunCheck.walk($0, from: 0, atoms: nil, limits: limits)) != nil })
            }
        }
    }
    let encoded: [UInt8]
    do {
        encoded = try ExternalTermFormat.encode(term)
    } catch {
        preconditionFailure("a decoded term does not encode: \(error)")
    }
    let again: Term
    do {
        again = try ExternalTermFormat.decode(encoded, limits: limits)
    } catch {
        preconditionFailure("an encoded term does not decode: \(error)\n\(encoded)")
    }
    precondition(again == term, "round trip changed the term:\n\(term)\n\(again)")
    precondition((try? ExternalTermFormat.encode(again)) == encoded, "re-encoding is not stable")
    return 0
}

/// The program's entry point (SwiftPM aliases `main` to it): libFuzzer's driver with ``fuzz(_:_:)``.
@_cdecl("fuzz_etf_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data!, size) }
}
