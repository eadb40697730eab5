import ErlangNode
import ErlangTerm

/// The calls `inventory` answers, decoded from the request term with `TermDecoder` (an enum case with payloads is
/// a tuple tagged with the case's name; a case without payload is the bare atom).
enum InventoryCall: Codable {
    /// `{:reserve, "sku-1", 3}`: holds 3 units for the caller until it checks out or dies;
    /// `{:ok, left}` or `{:error, :out_of_stock}` / `{:error, :unknown_sku}`.
    case reserve(sku: String, count: Int)
    /// `:checkout`: the caller's reservations become final; `{:ok, %{"sku-1" => 3}}`.
    case checkout
    /// `{:stock, "sku-1"}`: `{:ok, units}` or `{:error, :unknown_sku}`.
    case stock(sku: String)
    /// `{:label, "sku-1"}`: `{:ok, "SKU-1"}`, the display label as the caller's node spells it (Elixir's
    /// `String.upcase/1`, called there by rpc).
    case label(sku: String)
}

/// The casts `inventory` takes.
enum InventoryCast: Codable {
    /// `{:restock, "sku-1", 5}`: adds 5 units (a new SKU starts at 0).
    case restock(sku: String, count: Int)
}

/// A reply, `{:ok, value}` or `{:error, reason}`, encoded with `TermEncoder`.
enum InventoryReply<Value: Encodable>: Encodable {
    case ok(Value)
    case error(InventoryFailure)
}

/// Why a request failed: an atom on the wire.
enum InventoryFailure: String, TermAtomRepresentable {
    case outOfStock = "out_of_stock"
    case unknownSku = "unknown_sku"
}
