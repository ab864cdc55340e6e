using System.Globalization;
using System.Text;

namespace Downloads.Mirror.Status;

/// <summary>The report as a donor reads it: one line per topic, figures in the units the donor chose (Mbit/s, GB, TB).</summary>
internal static class StatusText
{
    /// <summary>Formats <paramref name="r"/>.</summary>
    public static string Format(StatusReport r)
    {
        var s = new StringBuilder();
        var name = r.Name.Length > 0 && r.Name != r.Id ? $" ({r.Name})" : "";
        s.Append($"Mirror {r.Id}{name}, as the network sees it at {r.At.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z\n");
        var approval = r.Approval == "approved" ? "approved by ops" : "pending: waiting for ops to approve it";
        Line(s, "approval", $"{approval}; {(r.Enabled ? "enabled" : "disabled by ops")}{(r.Draining ? "; draining (no new clients)" : "")}");
        Line(s, "heartbeat", r.Alive
            ? $"alive: last report {Ago(r.At, r.LastReport)}, files verified at serial {r.Serial}"
            : $"missing: the redirectors count the mirror as down (last report {Ago(r.At, r.LastReport)})");
        Line(s, "health", HealthLine(r));
        Line(s, "traffic", Inv($"now {Mbps(r.RateBps)} of {r.CapacityMbps:0.#} Mbit/s donated, {r.Connections} open connections; {r.Requests:N0} requests and {Bytes(r.BytesServed)} since the mirror started"));
        if (r.LastHourMeanBps is not null || r.PeakDayBps is not null)
            Line(s, "history", $"last hour {(r.LastHourMeanBps is { } h ? Mbps(h) : "-")} on average; busiest minute of the last 24 h {(r.PeakDayBps is { } p ? Mbps(p) : "-")}");
        var label = "quota";
        foreach (var line in QuotaLines(r.Quota, r.At))
        {
            Line(s, label, line);
            label = "";
        }
        Line(s, "last error", r.LastError.Length > 0 ? r.LastError : "none");
        foreach (var note in r.Notes)
            Line(s, "note", note);
        return s.ToString();
    }

    private static string HealthLine(StatusReport r)
    {
        if (r.Health is not { } h)
            return "not readable (see the note below)";
        if (!h.Checked)
            return "not checked yet (the redirectors probe every mirror each round)";
        var last = $"last check {Ago(r.At, h.CheckedAt)}{(h.LatencyMs > 0 ? Inv($", {h.LatencyMs:0} ms") : "")}{(h.Probe.Length > 0 ? $", {h.Probe}" : "")}";
        if (h.Ok && h.Reason.Length > 0)
            return $"passing, {h.Reason}; {last}";
        return h.Ok ? $"passing; {last}" : $"FAILING: {h.Reason}; {last}; the redirectors send no clients until it passes again";
    }

    private static IEnumerable<string> QuotaLines(QuotaPace q, DateTimeOffset at)
    {
        // Billing day 1: the calendar month, as always; another billing day names its period.
        var month = q.CalendarMonth || q.PeriodEnd == default
            ? at.UtcDateTime.ToString("MMMM", CultureInfo.InvariantCulture)
            : Inv($"the billing period {q.PeriodStart.UtcDateTime:d MMMM} to {q.PeriodEnd.UtcDateTime:d MMMM}");
        var periodEnd = q.CalendarMonth || q.PeriodEnd == default ? "the month's end" : "the period's end";
        var next = q.CalendarMonth || q.PeriodEnd == default ? "the 1st" : Inv($"{q.PeriodEnd.UtcDateTime:yyyy-MM-dd}");
        var day = Inv($"day {q.ElapsedDays:0.0} of {q.DaysInMonth}");
        if (q.QuotaBytes <= 0)
        {
            yield return $"{Bytes(q.UsedBytes)} served in {month} ({day}), no quota; at this pace {Bytes(q.ForecastBytes)} by {periodEnd}";
            yield break;
        }
        yield return Inv($"{Bytes(q.UsedBytes)} of {Bytes(q.QuotaBytes)} used in {month} ({q.UsedShare:P1}, {day})");
        if (q.UsedBytes >= q.QuotaBytes)
            yield return $"used up: the redirectors send no clients until {next} (UTC)";
        else if (q.RunsOutAt is { } end)
            yield return Inv($"at this pace it runs out on {end.UtcDateTime:yyyy-MM-dd HH:mm}Z ({q.ForecastShare:P0} of the quota by {periodEnd}); then no clients until {next}");
        else
            yield return Inv($"at this pace {Bytes(q.ForecastBytes)} by {periodEnd} ({q.ForecastShare:P0} of the quota)");
    }

    private static void Line(StringBuilder s, string label, string text) => s.Append("  ").Append(label.PadRight(11)).Append(text).Append('\n');

    private static string Ago(DateTimeOffset now, DateTimeOffset? then)
    {
        if (then is not { } t)
            return "never";
        var age = now - t;
        if (age < TimeSpan.Zero)
            age = TimeSpan.Zero;
        return age.TotalSeconds < 120 ? Inv($"{age.TotalSeconds:0} s ago")
            : age.TotalMinutes < 120 ? Inv($"{age.TotalMinutes:0} min ago")
            : age.TotalHours < 48 ? Inv($"{age.TotalHours:0} h ago")
            : Inv($"{age.TotalDays:0} days ago");
    }

    private static string Mbps(double bytesPerSecond) => Inv($"{bytesPerSecond * 8 / 1e6:0.##} Mbit/s");

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1_000_000_000_000 => Inv($"{bytes / 1e12:0.##} TB"),
        >= 1_000_000_000 => Inv($"{bytes / 1e9:0.##} GB"),
        >= 1_000_000 => Inv($"{bytes / 1e6:0.##} MB"),
        _ => Inv($"{bytes:N0} bytes"),
    };

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
