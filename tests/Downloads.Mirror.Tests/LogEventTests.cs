using Downloads.Testing;

namespace Downloads.Mirror.Tests;

/// <summary>Every log event id of the mirror is unique and comes from its one table, <see cref="MirrorEvents"/>.</summary>
public class LogEventTests
{
    private static readonly IReadOnlyList<(string Method, int EventId)> Events = LogEvents.Of(typeof(MirrorEvents).Assembly);

    [Fact]
    public void No_two_log_messages_share_an_event_id()
    {
        Assert.True(Events.Count >= 25, $"found only {Events.Count} [LoggerMessage] methods: is the reflection still finding them?");
        Assert.Empty(LogEvents.Duplicates(Events));
    }

    [Fact]
    public void Every_event_id_is_in_the_services_table_and_every_table_entry_is_used()
    {
        var table = LogEvents.Table(typeof(MirrorEvents));
        Assert.Empty(Events.Where(e => !table.Contains(e.EventId)).Select(e => $"{e.Method}: {e.EventId}"));
        Assert.Empty(table.Except(Events.Select(e => e.EventId)));
    }
}
