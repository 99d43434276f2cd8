// conv2d_forward and conv2d_backward (input, weight and bias gradients) against double-precision C++
// references: LeNet's shapes, odd sizes that cross tile borders, padding 0/1/2, odd and even R,
// batch 1/7/64; the weight and bias gradients are also checked for bit-identical reruns. The fused
// 2x2 max-pool (forward: pooled value and argmax bitwise as maxpool2x2_forward; backward: the gradient
// read through the pool, with and without the ReLU mask) on the same shapes.
#include "harness.h"
#include "../kernels/conv.cu"
#include "../kernels/pool.cu"
#include "../kernels/gather.cu"

using namespace harness;

struct Shape {
    int B, C, H, W, K, R, pad;
    int OH() const { return H + 2 * pad - R + 1; }
    int OW() const { return W + 2 * pad - R + 1; }
    std::string name() const
    {
        char s[96];
        snprintf(s, sizeof s, "B=%d C=%d %dx%d K=%d R=%d pad=%d", B, C, H, W, K, R, pad);
        return s;
    }
};

// Calls f(n, k, c, oy, ox, r, s, iy, ix) for every tap that lands inside the input.
template <typename F>
static void for_each_tap(const Shape& s, F f)
{
    for (int n = 0; n < s.B; n++)
        for (int k = 0; k < s.K; k++)
            for (int c = 0; c < s.C; c++)
                for (int oy = 0; oy < s.OH(); oy++)
                    for (int ox = 0; ox < s.OW(); ox++)
                        for (int r = 0; r < s.R; r++)
                            for (int q = 0; q < s.R; q++) {
                                int iy = oy + r - s.pad, ix = ox + q - s.pad;
                                if (iy >= 0 && iy < s.H && ix >= 0 && ix < s.W) f(n, k, c, oy, ox, r, q, iy, ix);
                            }
}

static void run_case(Checker& check, const Shape& s, bool timed)
{
    Random rnd(s.B * 7919 + s.C * 101 + s.H * 13 + s.W + s.K * 3 + s.R + s.pad);
    size_t nx = (size_t)s.B * s.C * s.H * s.W, nw = (size_t)s.K * s.C * s.R * s.R;
    size_t ny = (size_t)s.B * s.K * s.OH() * s.OW();
    size_t np = (size_t)s.B * s.K * (s.OH() / 2) * (s.OW() / 2);
    std::vector<float> x = rnd.floats(nx, -1, 1), w = rnd.floats(nw, -1, 1), b = rnd.floats(s.K, -1, 1);
    std::vector<float> dy = rnd.floats(ny, -1, 1), dpooled = rnd.floats(np, -1, 1);
    auto xi = [&](int n, int c, int iy, int ix) { return (((size_t)n * s.C + c) * s.H + iy) * s.W + ix; };
    auto yi = [&](int n, int k, int oy, int ox) { return (((size_t)n * s.K + k) * s.OH() + oy) * s.OW() + ox; };
    auto wi = [&](int k, int c, int r, int q) { return (((size_t)k * s.C + c) * s.R + r) * s.R + q; };

    std::vector<double> y_ref(ny);
    for (int n = 0; n < s.B; n++)
        for (int k = 0; k < s.K; k++)
            for (int oy = 0; oy < s.OH(); oy++)
                for (int ox = 0; ox < s.OW(); ox++) y_ref[yi(n, k, oy, ox)] = b[k];
    for_each_tap(s, [&](int n, int k, int c, int oy, int ox, int r, int q, int iy, int ix) {
        y_ref[yi(n, k, oy, ox)] += (double)x[xi(n, c, iy, ix)] * w[wi(k, c, r, q)];
    });
    std::vector<double> y_relu_ref(y_ref);
    for (auto& v : y_relu_ref) v = v < 0 ? 0 : v;
    // the backward references for a conv output gradient g
    auto backward_ref = [&](const std::vector<float>& g, std::vector<double>& dx, std::vector<double>& dw,
                            std::vector<double>& db) {
        dx.assign(nx, 0.0);
        dw.assign(nw, 0.0);
        db.assign(s.K, 0.0);
        for (int n = 0; n < s.B; n++)
            for (int k = 0; k < s.K; k++)
                for (int oy = 0; oy < s.OH(); oy++)
                    for (int ox = 0; ox < s.OW(); ox++) db[k] += g[yi(n, k, oy, ox)];
        for_each_tap(s, [&](int n, int k, int c, int oy, int ox, int r, int q, int iy, int ix) {
            dx[xi(n, c, iy, ix)] += (double)g[yi(n, k, oy, ox)] * w[wi(k, c, r, q)];
            dw[wi(k, c, r, q)] += (double)g[yi(n, k, oy, ox)] * x[xi(n, c, iy, ix)];
        });
    };
    std::vector<double> dx_ref, dw_ref, db_ref;
    backward_ref(dy, dx_ref, dw_ref, db_ref);

    DeviceBuffer<float> d_x(x), d_w(w), d_b(b), d_y(ny), d_dy(dy), d_dx(nx), d_dw(nw), d_db(s.K);
    DeviceBuffer<float> d_pooled(std::max<size_t>(np, 1)), d_pool_ref(std::max<size_t>(np, 1));
    DeviceBuffer<float> d_dpooled(dpooled), d_gconv(ny);
    DeviceBuffer<int> d_argmax(std::max<size_t>(np, 1)), d_argmax_ref(std::max<size_t>(np, 1));
    dim3 block(16, 16);
    dim3 grid_fwd(blocks_for(s.OW(), 16) * blocks_for(s.OH(), 16), blocks_for(s.K, 4), s.B);
    // conv2d_backward: the input-gradient blocks (when dx is given), then the weight-gradient blocks
    unsigned input_blocks = blocks_for(s.W, 16) * blocks_for(s.H, 16) * blocks_for(s.C, 4) * s.B;
    auto grid_bwd = [&](bool with_dx, int chunks) {
        return dim3((with_dx ? input_blocks : 0) + (unsigned)(s.K * s.C * (s.R + 1) * chunks));
    };
    dim3 block_bwd(256);
    std::string name = "conv " + s.name();
    const float* no_pool = nullptr;
    const int* no_argmax = nullptr;
    float* no_partials = nullptr;
    int* no_tally = nullptr;

    for (int relu = 0; relu <= 1; relu++) {
        std::string r = " relu=" + std::to_string(relu);
        LAUNCH(conv2d_forward, grid_fwd, block, d_x.ptr, d_w.ptr, d_b.ptr, d_y.ptr, nullptr, nullptr, s.B, s.C, s.H,
               s.W, s.K, s.R, s.pad, relu);
        std::vector<float> y = d_y.download();
        check.compare(name + " forward" + r, y, relu ? y_relu_ref : y_ref, 1e-4, 1e-4);
        if (np == 0) continue;
        LAUNCH(conv2d_forward, grid_fwd, block, d_x.ptr, d_w.ptr, d_b.ptr, d_y.ptr, d_pooled.ptr, d_argmax.ptr, s.B, s.C,
               s.H, s.W, s.K, s.R, s.pad, relu);
        check.same_bits(name + " forward with the pool: y" + r, y, d_y.download());
        // the fused pool is maxpool2x2_forward of the same y, bit for bit
        LAUNCH(maxpool2x2_forward, dim3(blocks_for((long)np, 256)), dim3(256), d_y.ptr, d_pool_ref.ptr,
               d_argmax_ref.ptr, s.B, s.K, s.OH(), s.OW());
        check.same_bits(name + " forward with the pool: pooled" + r, d_pool_ref.download(), d_pooled.download());
        check.compare_exact(name + " forward with the pool: argmax" + r, d_argmax.download(), d_argmax_ref.download());
        // backward read through the pool: the conv output gradient is maxpool2x2_backward's
        LAUNCH(maxpool2x2_backward, dim3(blocks_for((long)ny, 256)), dim3(256), d_dpooled.ptr, d_pooled.ptr,
               d_argmax.ptr, d_gconv.ptr, s.B, s.K, s.OH(), s.OW(), relu);
        std::vector<double> pdx, pdw, pdb;
        backward_ref(d_gconv.download(), pdx, pdw, pdb);
        LAUNCH(conv2d_backward, grid_bwd(true, 1), block_bwd, d_x.ptr, d_dpooled.ptr, d_pooled.ptr, d_argmax.ptr, relu,
               d_w.ptr, d_dx.ptr, d_dw.ptr, d_db.ptr, no_partials, no_tally, 1, s.B, s.C, s.H, s.W, s.K, s.R, s.pad);
        check.compare(name + " backward input through the pool" + r, d_dx.download(), pdx, 1e-4, 1e-4);
        check.compare(name + " backward weight through the pool" + r, d_dw.download(), pdw, 1e-3, 1e-4);
        check.compare(name + " backward bias through the pool" + r, d_db.download(), pdb, 1e-3, 1e-4);
    }
    LAUNCH(conv2d_backward, grid_bwd(true, 1), block_bwd, d_x.ptr, d_dy.ptr, no_pool, no_argmax, 0, d_w.ptr, d_dx.ptr,
           d_dw.ptr, d_db.ptr, no_partials, no_tally, 1, s.B, s.C, s.H, s.W, s.K, s.R, s.pad);
    check.compare(name + " backward input", d_dx.download(), dx_ref, 1e-4, 1e-4);
    std::vector<float> dw = d_dw.download(), db = d_db.download();
    check.compare(name + " backward weight", dw, dw_ref, 1e-3, 1e-4);
    check.compare(name + " backward bias", db, db_ref, 1e-3, 1e-4);
    // without dx: the weight-gradient blocks alone, the same bits
    LAUNCH(conv2d_backward, grid_bwd(false, 1), block_bwd, d_x.ptr, d_dy.ptr, no_pool, no_argmax, 0, d_w.ptr, nullptr,
           d_dw.ptr, d_db.ptr, no_partials, no_tally, 1, s.B, s.C, s.H, s.W, s.K, s.R, s.pad);
    check.same_bits(name + " backward weight twice", dw, d_dw.download());
    check.same_bits(name + " backward bias twice", db, d_db.download());

    // the batch split into chunks, summed by the last block of each (k, c, r): the same sums, in another
    // order, the same bits on a rerun, and the tallies left at zero for the next launch
    int chunks = std::min(s.B, 5);
    if (chunks > 1) {
        size_t groups = (size_t)s.K * s.C * (s.R + 1);
        DeviceBuffer<float> d_partials(groups * chunks * s.R);
        DeviceBuffer<int> d_tally(std::vector<int>(groups, 0));
        std::string chunked = name + " backward weight in " + std::to_string(chunks) + " chunks";
        LAUNCH(conv2d_backward, grid_bwd(true, chunks), block_bwd, d_x.ptr, d_dy.ptr, no_pool, no_argmax, 0, d_w.ptr,
               d_dx.ptr, d_dw.ptr, d_db.ptr, d_partials.ptr, d_tally.ptr, chunks, s.B, s.C, s.H, s.W, s.K, s.R, s.pad);
        check.compare(chunked + ": input", d_dx.download(), dx_ref, 1e-4, 1e-4);
        std::vector<float> dw_chunked = d_dw.download(), db_chunked = d_db.download();
        check.compare(chunked, dw_chunked, dw_ref, 1e-3, 1e-4);
        check.compare(chunked + " bias", db_chunked, db_ref, 1e-3, 1e-4);
        check.compare_exact(chunked + " tallies back at 0", d_tally.download(), std::vector<int>(groups, 0));
        LAUNCH(conv2d_backward, grid_bwd(false, chunks), block_bwd, d_x.ptr, d_dy.ptr, no_pool, no_argmax, 0, d_w.ptr,
               nullptr, d_dw.ptr, d_db.ptr, d_partials.ptr, d_tally.ptr, chunks, s.B, s.C, s.H, s.W, s.K, s.R, s.pad);
        check.same_bits(chunked + " twice", dw_chunked, d_dw.download());
        if (timed)
            TIME(chunked + " with the input gradient", 4.0 * s.B * s.K * s.C * s.OH() * s.OW() * s.R * s.R, "GFLOP/s",
                 conv2d_backward, grid_bwd(true, chunks), block_bwd, d_x.ptr, d_dy.ptr, no_pool, no_argmax, 0, d_w.ptr,
                 d_dx.ptr, d_dw.ptr, d_db.ptr, d_partials.ptr, d_tally.ptr, chunks, s.B, s.C, s.H, s.W, s.K, s.R, s.pad);
    }

    if (timed) {
        double taps = (double)s.B * s.K * s.C * s.OH() * s.OW() * s.R * s.R;
        TIME(name + " forward", 2 * taps, "GFLOP/s", conv2d_forward, grid_fwd, block, d_x.ptr, d_w.ptr, d_b.ptr,
             d_y.ptr, nullptr, nullptr, s.B, s.C, s.H, s.W, s.K, s.R, s.pad, 1);
        TIME(name + " forward with the pool", 2 * taps, "GFLOP/s", conv2d_forward, grid_fwd, block, d_x.ptr, d_w.ptr,
             d_b.ptr, d_y.ptr, d_pooled.ptr, d_argmax.ptr, s.B, s.C, s.H, s.W, s.K, s.R, s.pad, 1);
        TIME(name + " backward", 4 * taps, "GFLOP/s", conv2d_backward, grid_bwd(true, 1), block_bwd, d_x.ptr, d_dy.ptr,
             no_pool, no_argmax, 0, d_w.ptr, d_dx.ptr, d_dw.ptr, d_db.ptr, no_partials, no_tally, 1, s.B, s.C, s.H, s.W,
             s.K, s.R, s.pad);
        TIME(name + " backward through the pool", 4 * taps, "GFLOP/s", conv2d_backward, grid_bwd(true, 1), block_bwd,
             d_x.ptr, d_dpooled.ptr, d_pooled.ptr, d_argmax.ptr, 1, d_w.ptr, d_dx.ptr, d_dw.ptr, d_db.ptr, no_partials,
             no_tally, 1, s.B, s.C, s.H, s.W, s.K, s.R, s.pad);
    }
}

// conv2d_forward_gather against gather_normalize then conv2d_forward (with the pool): the same bits in x,
// the labels, y, pooled and argmax, at the batch the counters point to.
static void gather_case(Checker& check, int N, int H, int W, int B, int K, int R, int pad, int step)
{
    Random rnd(N * 17 + H * 5 + W + B + pad);
    std::vector<unsigned char> images((size_t)N * H * W), labels(N);
    for (auto& v : images) v = (unsigned char)(rnd.next() & 255);
    for (auto& v : labels) v = (unsigned char)(rnd.next() % 10);
    std::vector<int> order(N);
    for (int i = 0; i < N; i++) order[i] = (i * 7 + 3) % N;
    std::vector<float> w = rnd.floats((size_t)K * R * R, -0.5f, 0.5f), b = rnd.floats(K, -0.5f, 0.5f);
    Shape s{B, 1, H, W, K, R, pad};
    size_t ny = (size_t)B * K * s.OH() * s.OW(), np = std::max<size_t>((size_t)B * K * (s.OH() / 2) * (s.OW() / 2), 1);
    const float mean = 0.1307f, std_dev = 0.3081f;
    DeviceBuffer<unsigned char> d_images(images), d_labels(labels);
    DeviceBuffer<int> d_order(order), d_counters(std::vector<int>{step, 99, 0});
    DeviceBuffer<float> d_w(w), d_b(b);
    DeviceBuffer<float> x_ref((size_t)B * H * W), y_ref(ny), pooled_ref(np), x(std::vector<float>((size_t)B * H * W, NAN));
    DeviceBuffer<float> y(ny), pooled(np);
    DeviceBuffer<int> labels_ref(B), argmax_ref(np), labels_out(B), argmax(np);
    dim3 grid(blocks_for(s.OW(), 16) * blocks_for(s.OH(), 16), blocks_for(K, 4), B), block(16, 16);
    LAUNCH(gather_normalize, dim3(blocks_for((long)B * H * W, 256)), dim3(256), d_images.ptr, d_labels.ptr, d_order.ptr,
           d_counters.ptr, 1, B, B, H * W, mean, std_dev, x_ref.ptr, labels_ref.ptr);
    LAUNCH(conv2d_forward, grid, block, x_ref.ptr, d_w.ptr, d_b.ptr, y_ref.ptr, pooled_ref.ptr, argmax_ref.ptr, B, 1, H,
           W, K, R, pad, 1);
    LAUNCH(conv2d_forward_gather, grid, block, d_images.ptr, d_labels.ptr, d_order.ptr, d_counters.ptr, 1, B, mean,
           std_dev, x.ptr, labels_out.ptr, d_w.ptr, d_b.ptr, y.ptr, pooled.ptr, argmax.ptr, B, H, W, K, R, pad, 1);
    std::string name = "conv gather " + s.name() + " step=" + std::to_string(step);
    check.same_bits(name + " x (every pixel written)", x_ref.download(), x.download());
    check.compare_exact(name + " labels", labels_out.download(), labels_ref.download());
    check.same_bits(name + " y", y_ref.download(), y.download());
    check.same_bits(name + " pooled", pooled_ref.download(), pooled.download());
    check.compare_exact(name + " argmax", argmax.download(), argmax_ref.download());
}

int main()
{
    Checker check;
    gather_case(check, 300, 28, 28, 64, 6, 5, 2, 2);   // LeNet-5's conv1
    gather_case(check, 300, 28, 28, 7, 10, 5, 0, 3);   // cnn-dropout's: the input is larger than the output
    gather_case(check, 100, 32, 32, 5, 6, 5, 0, 1);    // lenet5-32
    gather_case(check, 60, 13, 37, 3, 5, 3, 1, 4);     // odd sizes, several tiles across
    gather_case(check, 60, 28, 28, 3, 4, 3, 3, 1);     // padding = R: rows no longer read by their own tile
    gather_case(check, 60, 13, 37, 2, 3, 1, 2, 0);     // padding > R, a 1x1 filter
    gather_case(check, 60, 20, 20, 2, 5, 5, 9, 0);     // padding far past R
    run_case(check, {1, 1, 28, 28, 6, 5, 2}, false);   // LeNet conv1
    run_case(check, {7, 6, 14, 14, 16, 5, 0}, false);  // LeNet conv2
    run_case(check, {64, 1, 28, 28, 6, 5, 2}, false);
    run_case(check, {64, 6, 14, 14, 16, 5, 0}, false);
    run_case(check, {3, 2, 7, 7, 3, 3, 1}, false);
    run_case(check, {1, 3, 7, 9, 5, 3, 2}, false);
    run_case(check, {2, 3, 33, 35, 7, 4, 1}, false);   // even R, several tiles, K and C not multiples of 4
    run_case(check, {7, 5, 19, 17, 9, 1, 0}, false);
    run_case(check, {1, 2, 6, 6, 2, 7, 2}, false);     // filter larger than the image
    if (kOnGpu) {
        run_case(check, {1024, 1, 28, 28, 6, 5, 2}, true);
        run_case(check, {1024, 6, 14, 14, 16, 5, 0}, true);
    }
    return check.finish("conv");
}
