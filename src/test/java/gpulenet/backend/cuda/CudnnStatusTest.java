package gpulenet.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** cuDNN 9's status numbering, not JCudnn 11.7's (where 3 was BAD_PARAM and 1 NOT_INITIALIZED). */
class CudnnStatusTest {
    @Test
    void namesFollowCudnn9sNumbering() {
        assertEquals("CUDNN_STATUS_SUCCESS", CudnnStatus.name(0));
        assertEquals("CUDNN_STATUS_NOT_INITIALIZED", CudnnStatus.name(1001));
        assertEquals("CUDNN_STATUS_BAD_PARAM", CudnnStatus.name(2000));
        assertEquals("CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH", CudnnStatus.name(2008));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED", CudnnStatus.name(3000));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH", CudnnStatus.name(3007));
        assertEquals("CUDNN_STATUS_INTERNAL_ERROR", CudnnStatus.name(4000));
        assertEquals("CUDNN_STATUS_EXECUTION_FAILED", CudnnStatus.name(5000));
    }

    @Test
    void aCodeWithoutANameIsNamedByItsCategory() {
        assertEquals("CUDNN_STATUS_BAD_PARAM (2099)", CudnnStatus.name(2099));
        assertEquals("CUDNN_STATUS_EXECUTION_FAILED (5077)", CudnnStatus.name(5077));
        assertEquals("unknown cuDNN status (3)", CudnnStatus.name(3));
    }

    @Test
    void versionsReadAsCudnn9EncodesThem() {
        assertEquals("9.5.0", JCudnnLibrary.versionString(90500));
        assertEquals("9.10.2", JCudnnLibrary.versionString(91002));
    }
}
