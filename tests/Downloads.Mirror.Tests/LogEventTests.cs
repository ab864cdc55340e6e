using Downloads.Testing;

namespace Downloads.Mirror.Tests;

/// <summary>Every log event id of the mirror is unique and comes from its one table, <see cref="MirrorEvents"/>.</summary>
public class LogEventTests() : LogEventTableTests(typeof(MirrorEvents), 25);
