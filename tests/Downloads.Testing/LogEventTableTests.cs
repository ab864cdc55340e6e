namespace Downloads.Testing;

/// <summary>
/// Every log event id of a service is unique and comes from its one table: each service's test project
/// derives one class from this with its table type (e.g. <c>RedirectorEvents</c>) and the fewest
/// <c>[LoggerMessage]</c> methods it must find (so a reflection that finds nothing cannot pass).
/// </summary>
public abstract class LogEventTableTests(Type table, int atLeast)
{
    private readonly IReadOnlyList<(string Method, int EventId)> _events = LogEvents.Of(table.Assembly);

    [Fact]
    public void No_two_log_messages_share_an_event_id()
    {
        Assert.True(_events.Count >= atLeast, $"found only {_events.Count} [LoggerMessage] methods: is the reflection still finding them?");
        Assert.Empty(LogEvents.Duplicates(_events));
    }

    [Fact]
    public void Every_event_id_is_in_the_services_table_and_every_table_entry_is_used()
    {
        var ids = LogEvents.Table(table);
        Assert.Empty(_events.Where(e => !ids.Contains(e.EventId)).Select(e => $"{e.Method}: {e.EventId}"));
        Assert.Empty(ids.Except(_events.Select(e => e.EventId)));
    }
}
