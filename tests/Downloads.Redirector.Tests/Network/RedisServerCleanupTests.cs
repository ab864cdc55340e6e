using System.Net.Sockets;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Network;

/// <summary>The test helper itself: a redis-server nobody disposed does not outlive the test process.</summary>
public sealed class RedisServerCleanupTests
{
    private static bool Answers(int port)
    {
        try
        {
            using var probe = new TcpClient();
            probe.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Fact]
    public void A_server_never_disposed_is_killed_by_the_exit_cleanup_and_a_disposed_one_is_not_tracked()
    {
        // As a fixture whose InitializeAsync threw: the server is started, then nobody disposes it.
        var leftover = new RedisServer();
        using var other = new RedisServer();
        Assert.True(Answers(leftover.Port));

        // What the process-exit hook runs (for all servers; here only for this test's, as other tests run in parallel).
        Assert.Equal(1, RedisServer.KillLeftovers(s => s == leftover));
        Assert.False(leftover.IsRunning);
        Assert.False(Answers(leftover.Port));
        Assert.True(other.IsRunning); // not chosen: untouched

        // Disposed servers leave the list: the hook finds nothing more of either.
        other.Dispose();
        Assert.Equal(0, RedisServer.KillLeftovers(s => s == leftover || s == other));
    }
}
