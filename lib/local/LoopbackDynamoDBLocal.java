import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import software.amazon.dynamodb.services.local.main.CommandLineInput;
import software.amazon.dynamodb.services.local.server.LocalDynamoDBRequestHandler;
import software.amazon.dynamodb.services.local.server.LocalDynamoDBServerHandler;

/**
 * DynamoDB Local on 127.0.0.1 only. Its own ServerRunner binds every interface and has no
 * option against it, so this builds the same request and server handlers that
 * ServerRunner.createServer builds, on a Jetty connector bound to the loopback address.
 * Run in Java's single-file source mode (no javac step), with DynamoDBLocal.jar and its
 * lib directory on the class path:
 *
 *   java -cp DynamoDBLocal.jar:DynamoDBLocal_lib/* LoopbackDynamoDBLocal.java
 *     -port 0 -sharedDb (-dbPath DIR | -inMemory)
 *
 * -port 0 takes a free port. Prints "listening on 127.0.0.1:PORT" once it accepts
 * connections. With -dbPath it holds an exclusive lock on DIR/dynamodb-local.lock for its
 * whole life (a second one on the same directory exits with code 3). It exits when its
 * standard input closes, so it does not outlive the process that started it. Sends no
 * telemetry.
 */
public class LoopbackDynamoDBLocal {
  private static final String HOST = "127.0.0.1";

  public static void main(String[] args) throws Exception {
    int port = 0;
    List<String> rest = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("-port") && i + 1 < args.length) port = Integer.parseInt(args[++i]);
      else rest.add(args[i]);
    }
    CommandLineInput input = new CommandLineInput(rest.toArray(new String[0]));
    if (!input.init()) return; // -help or -version: printed already

    FileLock lock = null;
    if (!input.isInMemory()) {
      File lockFile = new File(input.getDbPath(), "dynamodb-local.lock");
      lock = new RandomAccessFile(lockFile, "rw").getChannel().tryLock();
      if (lock == null) {
        System.err.println("another DynamoDB Local holds " + lockFile);
        System.exit(3);
      }
    }

    LocalDynamoDBRequestHandler requests =
        new LocalDynamoDBRequestHandler(
            0,
            input.isInMemory(),
            input.getDbPath(),
            input.getSharedDb(),
            input.shouldDelayTransientStatuses());
    LocalDynamoDBServerHandler handler =
        new LocalDynamoDBServerHandler(requests, input.getCorsParams());
    ContextHandler context = new ContextHandler();
    context.setHandler(handler);
    ContextHandlerCollection contexts = new ContextHandlerCollection();
    contexts.addHandler(context);

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost(HOST);
    connector.setPort(port);
    server.addConnector(connector);
    server.setHandler(contexts);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    server.stop();
                  } catch (Exception ignored) {
                    // stopping anyway
                  }
                  handler.close();
                }));
    server.start();
    System.out.println("listening on " + HOST + ":" + connector.getLocalPort());
    System.out.flush();

    Thread watchdog =
        new Thread(
            () -> {
              try {
                while (System.in.read() != -1) {
                  // nothing is sent on stdin; it only closes
                }
              } catch (IOException ignored) {
                // closed
              }
              System.exit(0);
            },
            "stdin-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    server.join();
    if (lock != null) lock.release();
  }
}
