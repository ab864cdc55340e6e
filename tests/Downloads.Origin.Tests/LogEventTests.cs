using Downloads.Testing;

namespace Downloads.Origin.Tests;

/// <summary>Every log event id of the origin is unique and comes from its one table, <see cref="OriginEvents"/>.</summary>
public class LogEventTests() : LogEventTableTests(typeof(OriginEvents), 6);
