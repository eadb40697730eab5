public import NIOCore

/// A thin `ByteToMessageDecoder` over ``EPMDRequest/parse(from:)``: emits one ``EPMDRequest`` per complete
/// request and fails the pipeline with an ``EPMDError`` on malformed input.
///
/// The daemon itself drives the parser through its connection state machine (one request per connection); this
/// decoder serves tools and tests that read a stream of requests.
public struct EPMDRequestDecoder: ByteToMessageDecoder {
    public typealias InboundOut = EPMDRequest

    /// Creates a decoder.
    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let request = try EPMDRequest.parse(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(request))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
