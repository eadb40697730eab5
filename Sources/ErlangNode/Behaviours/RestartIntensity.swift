/// A supervisor's restart limit, as OTP's `intensity` and `period`: more than `intensity` restarts within any
/// `period` means the children cannot be kept running, and the supervisor gives up (exits `shutdown`).
///
/// A value type with time as an input, so the rule is tested without processes or clocks.
struct RestartIntensity: Sendable, Hashable {
    let intensity: Int
    let period: Duration
    /// The restarts within the last `period`, oldest first.
    private(set) var restarts: [ContinuousClock.Instant] = []

    init(intensity: Int, period: Duration) {
        self.intensity = intensity
        self.period = period
    }

    /// Records a restart at `now`; `false` when it is one too many (more than `intensity` within `period`).
    mutating func add(at now: ContinuousClock.Instant) -> Bool {
        restarts.removeAll { now - $0 >= period }
        restarts.append(now)
        return restarts.count <= intensity
    }
}
