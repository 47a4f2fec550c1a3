"""Audio generation (Part IV, chapters 30-31).

- :mod:`~course_utils.audio.signal` - waveforms: checks, resampling, noise at a chosen SNR,
  (mel) spectrograms, WAV bytes and audio players that play in the built book.
- :mod:`~course_utils.audio.figures` - waveform and spectrogram figures (matplotlib, Plotly).
- :mod:`~course_utils.audio.speech` - the Piper voice (text -> phonemes -> speech) and the
  Whisper recogniser (speech -> text), both offline; a tape-style voice shift (chapter 30).
- :mod:`~course_utils.audio.word_errors` - text normalisation and word error rate (chapter 30).
- :mod:`~course_utils.audio.formant` - a rule-based formant synthesiser from the same
  phonemes: the pre-neural baseline (chapter 30).
- :mod:`~course_utils.audio.voiceprint` - pitch and MFCC voice prints, a similarity score and
  a verification threshold (chapter 30).
- :mod:`~course_utils.audio.music` - symbolic music: the chorale and folk-song corpus, note
  symbols, synthesis from notes, statistics of melodies, n-gram and transformer generators
  and the committed music transformer (chapter 31).
- :mod:`~course_utils.audio.sound_effects` - procedural sound effects (chapter 31).
"""
