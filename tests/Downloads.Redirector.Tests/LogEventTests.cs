using Downloads.Testing;

namespace Downloads.Redirector.Tests;

/// <summary>Every log event id of the redirector is unique and comes from its one table, <see cref="RedirectorEvents"/>.</summary>
public class LogEventTests() : LogEventTableTests(typeof(RedirectorEvents), 25);
