using Garnet;

// A Redis-compatible store for ./run.sh when no Redis is configured: Microsoft Garnet, in-memory,
// on loopback. Production uses real Redis (with Sentinel); Garnet cannot scope ACL users to key
// patterns, so with this store every mirror shares one Redis user.
var port = args.Length > 0 ? args[0] : "6390";
using var server = new GarnetServer(["--bind", "127.0.0.1", "--port", port, "--lua", "false"]);
server.Start();
Console.WriteLine($"devstore: Garnet (Redis-compatible) listening on 127.0.0.1:{port}");
var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
await stop.Task;
