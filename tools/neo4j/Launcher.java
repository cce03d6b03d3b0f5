// Starts an embedded Neo4j Community server for the test suite, so tests talk Bolt to a
// real database without Docker or a packaged Neo4j install.
//
// Run through tools/neo4j/run:  java -cp <classpath> tools/neo4j/Launcher.java <homeDir> <boltPort>
// Prints "READY bolt://127.0.0.1:<port>" once the default database accepts work, and shuts
// down cleanly (checkpoint, flushed store) on SIGTERM so a restart on the same dir keeps data.
//
// A database built offline (`lineage graph sync --full --offline <homeDir>`, which runs
// `neo4j-admin database import full` through tools/neo4j/admin) is handed over as the
// directory <homeDir>/import-ready, holding data/databases/neo4j and data/transactions/neo4j;
// it appears whole (renamed into place once the import succeeded). The launcher swaps it in
// for the default database at start and, while it runs, within a second of its appearance:
// the old database serves until then, and the server is restarted in this JVM, on the same
// port, onto the new files (prints "SWAPPED bolt://..." when the new database is usable).

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

public class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Launcher <homeDir> <boltPort>");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);

        // Registered before build() so a SIGTERM that arrives during start-up still shuts the
        // store down instead of leaving it to recovery on the next start.
        AtomicReference<DatabaseManagementService> service = new AtomicReference<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (service) {
                DatabaseManagementService dbms = service.getAndSet(null);
                if (dbms != null) {
                    dbms.shutdown();
                }
            }
        }, "neo4j-shutdown"));

        Path ready = home.resolve("import-ready");
        synchronized (service) {
            swapIn(home, ready);
            service.set(start(home, port));
        }
        System.out.println("READY bolt://127.0.0.1:" + port);
        System.out.flush();

        // Keep the JVM alive, watching for an offline import to swap in; SIGTERM runs the
        // shutdown hook and exits.
        while (true) {
            Thread.sleep(500);
            if (!Files.isDirectory(ready)) {
                continue;
            }
            synchronized (service) {
                DatabaseManagementService old = service.getAndSet(null);
                if (old == null) {
                    return; // shutting down
                }
                old.shutdown();
                swapIn(home, ready);
                service.set(start(home, port));
            }
            System.out.println("SWAPPED bolt://127.0.0.1:" + port);
            System.out.flush();
        }
    }

    /** Replaces the default database's files by those of a finished offline import. */
    static void swapIn(Path home, Path ready) throws IOException {
        if (!Files.isDirectory(ready)) {
            return;
        }
        String db = GraphDatabaseSettings.DEFAULT_DATABASE_NAME;
        for (String part : new String[] {"databases", "transactions"}) {
            Path target = home.resolve("data").resolve(part).resolve(db);
            deleteTree(target);
            Files.createDirectories(target.getParent());
            Path source = ready.resolve("data").resolve(part).resolve(db);
            if (Files.isDirectory(source)) {
                Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        // Only once both are in place: a crash before this point redoes the swap at start.
        deleteTree(ready);
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    static DatabaseManagementService start(Path home, int port) {
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                // Tests connect without credentials; the server is reachable on loopback only.
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                // Bolt is all the tests need; no extra open ports.
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                // Test data is tiny: keep the footprint small so it fits next to MariaDB on CI.
                // A benchmark store is not: it sizes the cache to hold its store, as Neo4j's
                // own sizing advice says (-Dlineage.neo4j.pagecache.mb).
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(
                        Long.getLong("lineage.neo4j.pagecache.mb", 256L)))
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size,
                        ByteUnit.mebiBytes(Long.getLong("lineage.neo4j.txmemory.mb", 384L)))
                // One transaction's memory (0: bounded by the global pool alone). Tests set it
                // small to make a sync batch overflow it (-Dlineage.neo4j.txmax.kb).
                .setConfig(GraphDatabaseSettings.memory_transaction_max_size,
                        ByteUnit.kibiBytes(Long.getLong("lineage.neo4j.txmax.kb", 0L)))
                // Do not reserve disk for transaction logs that a test never fills.
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "1 files")
                // Netty waits a 5s quiet period per event loop group on shutdown (~10s in
                // total); tests stop and restart the server, so skip the wait. Internal
                // setting, valid for the 5.26 line pinned in pom.xml.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                // A hung test transaction should fail the test, not the whole session.
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMillis(
                        Long.getLong("lineage.neo4j.txtimeout.ms", Duration.ofMinutes(5).toMillis())))
                // How often timed-out transactions are found and stopped (Neo4j's default is
                // 2s, so a shorter timeout is only honoured that late; tests shorten both).
                .setConfig(GraphDatabaseSettings.transaction_monitor_check_interval, Duration.ofMillis(
                        Long.getLong("lineage.neo4j.txmonitor.ms", 2000L)))
                .build();

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        while (!db.isAvailable(Duration.ofSeconds(1).toMillis())) {
            System.err.println("waiting for the default database");
        }
        return dbms;
    }
}
