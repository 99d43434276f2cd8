package gpulenet.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerPoolTest {
    @Test
    void everyItemRunsExactlyOnceInContiguousParts() {
        for (int threads : new int[]{1, 2, 3, 7}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                for (int n : new int[]{0, 1, 2, 5, 64, 1001}) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    int[] partOf = new int[n];
                    for (int round = 0; round < 3; round++) {
                        pool.forEach(n, (worker, begin, end) -> {
                            assertTrue(worker >= 0 && worker < threads && begin < end);
                            for (int i = begin; i < end; i++) {
                                hits.incrementAndGet(i);
                                partOf[i] = worker;
                            }
                        });
                    }
                    for (int i = 0; i < n; i++) {
                        assertEquals(3, hits.get(i), "item " + i + " of " + n + " with " + threads + " threads");
                        assertTrue(i == 0 || partOf[i] >= partOf[i - 1], "parts are contiguous and ordered");
                    }
                }
            }
        }
    }

    @Test
    void aFailureInAnyWorkerReachesTheCallerAndThePoolStaysUsable() {
        try (WorkerPool pool = new WorkerPool(3)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.forEach(9, (worker, b, end) -> {
                if (worker == 2) {
                    throw new IllegalStateException("boom in worker 2");
                }
            }));
            assertEquals("boom in worker 2", e.getMessage());
            int[] sum = new int[1];
            pool.forEach(1, (worker, b, end) -> sum[0] += end - b);
            assertEquals(1, sum[0]);
        }
    }

    @Test
    void aClosedPoolRefusesWork() {
        WorkerPool pool = new WorkerPool(2);
        pool.close();
        assertThrows(IllegalStateException.class, () -> pool.forEach(4, (w, b, e) -> { }));
    }
}
