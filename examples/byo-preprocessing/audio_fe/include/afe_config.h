/* acme-kws audio frontend configuration (the product's audio path). */
#ifndef AFE_CONFIG_H
#define AFE_CONFIG_H

#define AFE_SAMPLE_RATE 16000
#define AFE_CLIP_LEN 16000      /* one second */
#define AFE_FRAME_LEN 640       /* 40 ms */
#define AFE_HOP_LEN 320         /* 20 ms */
#define AFE_FRAMES 49
#define AFE_FFT_LEN 1024
#define AFE_MEL_BANDS 40
#define AFE_LOW_HZ 20.0
#define AFE_HIGH_HZ 4000.0
#define AFE_COEFFS 10
#define AFE_LOG_FLOOR 1e-6f

#endif
