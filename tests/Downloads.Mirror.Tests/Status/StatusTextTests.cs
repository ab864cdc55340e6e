using Downloads.Mirror.Status;

namespace Downloads.Mirror.Tests.Status;

public sealed class StatusTextTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 16, 12, 0, 0, TimeSpan.Zero);

    private static StatusReport Report() => new()
    {
        Id = "uk-cam",
        Name = "Cambridge",
        At = Now,
        Approval = "approved",
        Alive = true,
        LastReport = Now.AddSeconds(-3),
        Serial = 42,
        Health = new HealthView { Checked = true, Ok = true, CheckedAt = Now.AddSeconds(-12), LatencyMs = 35, Probe = "GET /os/x.img bytes=0-65535" },
        RateBps = 12_500_000,
        CapacityMbps = 1000,
        Connections = 7,
        Requests = 12_345,
        BytesServed = 56_000_000_000,
        LastHourMeanBps = 10_000_000,
        PeakDayBps = 90_000_000,
        Quota = QuotaPace.At(Now, 3_000_000_000_000, 4_000_000_000_000),
    };

    [Fact]
    public void A_healthy_busy_mirror_shows_its_figures_in_the_donors_units()
    {
        var text = StatusText.Format(Report());
        Assert.StartsWith("Mirror uk-cam (Cambridge), as the network sees it at 2026-12-16 12:00:00Z\n", text);
        Assert.Contains("approval   approved by ops; enabled\n", text);
        Assert.Contains("heartbeat  alive: last report 3 s ago, files verified at serial 42\n", text);
        Assert.Contains("health     passing; last check 12 s ago, 35 ms, GET /os/x.img bytes=0-65535\n", text);
        Assert.Contains("traffic    now 100 Mbit/s of 1000 Mbit/s donated, 7 open connections; 12,345 requests and 56 GB since the mirror started\n", text);
        Assert.Contains("history    last hour 80 Mbit/s on average; busiest minute of the last 24 h 720 Mbit/s\n", text);
        Assert.Contains("quota      3 TB of 4 TB used in December (75.0 %, day 15.5 of 31)\n", text);
        Assert.Contains("at this pace it runs out on 2026-12-21 16:00Z (150 % of the quota by the month's end)", text);
        Assert.Contains("last error none\n", text);
    }

    [Fact]
    public void A_mirror_billed_on_the_15th_is_shown_its_billing_period_not_the_calendar_month()
    {
        // 16 Dec 12:00 is 1.5 days into 15 Dec - 15 Jan: 0.5 TB used runs 4 TB out on 27 Dec.
        var text = StatusText.Format(Report() with { Quota = QuotaPace.At(Now, 500_000_000_000, 4_000_000_000_000, billingDay: 15) });
        Assert.Contains("quota      500 GB of 4 TB used in the billing period 15 December to 15 January (12.5 %, day 1.5 of 31)\n", text);
        Assert.Contains("at this pace it runs out on 2026-12-27 00:00Z (258 % of the quota by the period's end); then no clients until 2027-01-15", text);
        var usedUp = StatusText.Format(Report() with { Quota = QuotaPace.At(Now, 4_000_000_000_000, 4_000_000_000_000, billingDay: 15) });
        Assert.Contains("used up: the redirectors send no clients until 2027-01-15 (UTC)", usedUp);
    }

    [Fact]
    public void A_failing_down_mirror_says_what_keeps_clients_away()
    {
        var text = StatusText.Format(Report() with
        {
            Alive = false,
            LastReport = Now.AddMinutes(-30),
            Health = new HealthView { Checked = true, Ok = false, Reason = "chunk 3 of os/x.img does not match", CheckedAt = Now.AddSeconds(-5) },
            LastError = "upstream timed out",
            Notes = ["bandwidth history: not readable"],
        });
        Assert.Contains("heartbeat  missing: the redirectors count the mirror as down (last report 30 min ago)\n", text);
        Assert.Contains("health     FAILING: chunk 3 of os/x.img does not match; last check 5 s ago; the redirectors send no clients until it passes again\n", text);
        Assert.Contains("last error upstream timed out\n", text);
        Assert.Contains("note       bandwidth history: not readable\n", text);
    }

    [Fact]
    public void A_pending_mirror_without_history_or_quota()
    {
        var text = StatusText.Format(Report() with
        {
            Approval = "pending",
            Health = new HealthView(),
            LastHourMeanBps = null,
            PeakDayBps = null,
            Quota = QuotaPace.At(Now, 0, 0),
        });
        Assert.Contains("approval   pending: waiting for ops to approve it; enabled\n", text);
        Assert.Contains("health     not checked yet", text);
        Assert.DoesNotContain("history", text);
        Assert.Contains("quota      0 bytes served in December (day 15.5 of 31), no quota", text);
    }
}
